"""A/B tests on the page of what they test (a popup, a message step): each arm's figures,
the winner or what is still missing, a button promoting the winner, and the history."""

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..conf import omnichannel_settings
from ..flows.ab_tests import promote
from .display import percent


class ABTestsAdminMixin:
    """For a ``ModelAdmin`` whose objects have A/B tests (``tests_of``) and an
    ``ab_test_decisions`` history. Its change form template includes
    ``admin/omnichannel/ab_tests.html`` inside the form: the promote buttons post
    through it (``formaction``), so the form's own fields are neither saved nor lost."""

    def tests_of(self, obj):
        raise NotImplementedError

    def ab_test_context(self, request, obj):
        opts = self.model._meta
        tests = [
            {
                "test": test,
                "confidence": percent(test.confidence),
                "arms": [
                    {"arm": arm, "rate": percent(arm.rate), "winner": arm is test.winner}
                    for arm in test.arms
                ],
            }
            for test in self.tests_of(obj)
        ]
        history = [
            {"decision": decision, "confidence": percent(decision.confidence)}
            for decision in obj.ab_test_decisions.select_related("decided_by")
        ]
        return {
            "ab_tests": tests,
            "ab_test_history": history,
            "min_sample": omnichannel_settings.AB_TESTS["min_sample"],
            "required_confidence": percent(omnichannel_settings.AB_TESTS["confidence"]),
            "may_promote": self.has_change_permission(request, obj),
            "promote_url": reverse(
                f"admin:{opts.app_label}_{opts.model_name}_promote_winner", args=[obj.pk]
            ),
        }

    def ab_test_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/promote-winner/",
                self.admin_site.admin_view(require_POST(self.promote_winner_view)),
                name=f"{opts.app_label}_{opts.model_name}_promote_winner",
            )
        ]

    def promote_winner_view(self, request, object_id):
        """Promote the winner staff saw (``winner``, a variant id), if it still is one."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        wanted = request.POST.get("winner", "")
        test = next(
            (
                test
                for test in self.tests_of(obj)
                if test.winner is not None and str(test.winner.variant.pk) == wanted
            ),
            None,
        )
        decision = promote(test, request.user) if test is not None else None
        if decision is None:
            self.message_user(
                request,
                _("Nothing promoted: that variant is no longer the winner of a running test."),
                messages.WARNING,
            )
        else:
            self.message_user(
                request,
                _("“%(winner)s” promoted: the other variants get no new visitors or contacts.")
                % {"winner": decision.winner_name},
                messages.SUCCESS,
            )
        opts = self.model._meta
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        )
