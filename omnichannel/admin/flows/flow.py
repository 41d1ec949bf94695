"""The flow builder: flows with their steps, step contents and variants, previews, test
sends, a dry run, what is wrong with a flow, and what it led to.

Django admin has no nested inlines, so a flow's page lists its steps (order, timing,
channel, offer) and each step has its own page for contents, variants and conditions.
Status changes go through actions (list or buttons on the flow's page), never through a
form field: activation must pass the flow's validation and stamp ``activated_at``.
"""

import json
from functools import partial

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, ngettext_lazy
from django.views.decorators.http import require_POST

from ...flows import lifecycle, validation
from ...flows.analytics import flow_figures
from ...flows.canvas import CanvasError, apply_canvas
from ...flows.graph import flow_graph
from ...flows.preview import dry_run, dry_run_enrolled
from ...models import Contact, Enrollment, Flow, Step
from ...models.flows import EnrollmentState, FlowStatus, StepKind
from ..permissions import may_view_contacts
from .canvas import canvas_config
from .forms import DryRunForm, FiguresPeriodForm, FlowForm, StepInlineForm, renumber_steps
from .widgets import DURATIONS_IN_WORDS


class StepInline(admin.TabularInline):
    model = Step
    form = StepInlineForm
    formfield_overrides = DURATIONS_IN_WORDS
    fields = (
        "position",
        "name",
        "kind",
        "delay",
        "wait_until",
        "channel",
        "offer_kind",
        "offer_value",
        "content_summary",
        "leads_to",
    )
    readonly_fields = ("content_summary", "leads_to")
    extra = 0
    show_change_link = True
    verbose_name_plural = _("steps (open a step for its content, variants and conditions)")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("next_step", "no_next_step")
            .prefetch_related("contents")
        )

    @admin.display(description=_("leads to"))
    def leads_to(self, obj):
        """Where the step's ways go, in words (empty ways: the next step in the order)."""
        if obj.pk is None:
            return ""
        if obj.kind == StepKind.EXIT:
            return _("ends the path")

        def named(step):
            return f"{step.position + 1}. {step.name}" if step else _("the next in order")

        if obj.kind == StepKind.SPLIT:
            return _("yes: %(yes)s · no: %(no)s") % {
                "yes": named(obj.next_step),
                "no": named(obj.no_next_step),
            }
        return named(obj.next_step)

    @admin.display(description=_("content"))
    def content_summary(self, obj):
        if obj.pk is None:
            return _("(after saving)")
        if obj.kind != StepKind.MESSAGE:
            return _("sends nothing")
        labels = sorted({content.get_channel_display() for content in obj.contents.all()})
        return format_html(
            '{} · <a href="{}">{}</a>',
            ", ".join(labels) or _("none yet"),
            reverse("admin:omnichannel_step_preview", args=[obj.pk]),
            _("Preview"),
        )


# Enrollments that went through the flow (the holdout did not).
_TREATED = (EnrollmentState.ACTIVE, EnrollmentState.COMPLETED, EnrollmentState.EXITED)


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    """The flow builder: what starts it, who enters, its steps, and how it performs."""

    form = FlowForm
    formfield_overrides = DURATIONS_IN_WORDS
    list_display = (
        "name", "kind", "trigger", "status", "priority", "step_count", "enrolled_count",
        "active_count", "activated_at",
    )  # fmt: skip
    list_filter = ("status", "kind", "trigger")
    search_fields = ("name", "slug", "trigger_event")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("status", "activated_at")
    inlines = [StepInline]
    actions = ["activate", "pause", "resume", "archive", "duplicate"]
    save_on_top = True
    fieldsets = (
        (None, {"fields": ("name", "slug", "kind", ("status", "activated_at"), "priority")}),
        (_("What starts it"), {"fields": ("trigger", "also_triggered_by", "trigger_event")}),
        (_("Who enters"), {"fields": ("conditions", "reentry_cooldown")}),
        (_("When it ends early"), {"fields": ("exit_goals",)}),
        (_("Measuring"), {"fields": ("holdout_percent", "conversion_window")}),
    )
    # The buttons on a flow's page, by status: (action, label). Copying is always offered.
    OBJECT_ACTIONS = {
        FlowStatus.DRAFT: [("activate", _("Activate"))],
        FlowStatus.ACTIVE: [("pause", _("Pause")), ("archive", _("Archive"))],
        FlowStatus.PAUSED: [("resume", _("Resume")), ("archive", _("Archive"))],
        FlowStatus.ARCHIVED: [("activate", _("Activate again"))],
    }
    COPY_BUTTON = ("duplicate", _("Copy as a draft"))

    def get_queryset(self, request):
        def enrollments(**lookups):
            counted = (
                Enrollment.objects.filter(flow=OuterRef("pk"), **lookups)
                .order_by()
                .values("flow")
                .annotate(n=Count("pk"))
                .values("n")
            )
            return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))

        return (
            super()
            .get_queryset(request)
            .annotate(
                steps_n=Count("steps"),
                enrolled_n=enrollments(state__in=_TREATED),
                active_n=enrollments(state=EnrollmentState.ACTIVE),
            )
        )

    @admin.display(description=_("steps"), ordering="steps_n")
    def step_count(self, obj):
        return obj.steps_n

    @admin.display(description=_("enrolled"), ordering="enrolled_n")
    def enrolled_count(self, obj):
        return obj.enrolled_n

    @admin.display(description=_("in the flow now"), ordering="active_n")
    def active_count(self, obj):
        return obj.active_n

    def save_formset(self, request, form, formset, change):
        if formset.model is not Step:
            super().save_formset(request, form, formset, change)
            return
        # Deleted first, in the order staff saw when they ticked Delete: the contacts
        # waiting for a deleted step go on with the one that followed it there
        # (``flows.paths``), whatever new order the same save gives the others.
        steps = formset.save(commit=False)
        for step in formset.deleted_objects:
            step.delete()
        for step in steps:
            step.save()
        formset.save_m2m()
        renumber_steps(form.instance)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        flow = self.get_object(request, unquote(object_id))
        extra = {}
        if flow is not None:
            dated = "since" in request.GET or "until" in request.GET
            period = FiguresPeriodForm(request.GET if dated else None)
            # Callables: the template computes them only when it renders the page.
            extra = {
                "flow_problems": partial(validation.problems, flow),
                "period_form": period,
                "figures": partial(flow_figures, flow, *period.bounds()),
                "object_actions": [
                    (action, label)
                    for action, label in [*self.OBJECT_ACTIONS[flow.status], self.COPY_BUTTON]
                    if self._may_run(request, action)
                ],
                "can_dry_run": may_view_contacts(request),
                "canvas": canvas_config(flow, editable=self.has_change_permission(request, flow)),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    # --- actions ---------------------------------------------------------------------

    @admin.action(description=_("Activate the selected flows"), permissions=["change"])
    def activate(self, request, queryset):
        self._report_switch(
            request,
            lifecycle.activate(queryset),
            refused=_("“{flow}” was not activated: {problem} ({count})"),
            done=ngettext_lazy("%(n)d flow activated.", "%(n)d flows activated.", "n"),
        )

    @admin.action(description=_("Resume the selected paused flows"), permissions=["change"])
    def resume(self, request, queryset):
        self._report_switch(
            request,
            lifecycle.resume(queryset),
            refused=_("“{flow}” was not resumed: {problem} ({count})"),
            done=ngettext_lazy("%(n)d flow resumed.", "%(n)d flows resumed.", "n"),
        )

    def _report_switch(self, request, switched, *, refused, done):
        """Say why each refused flow stayed off, and how many were switched on. ``refused``
        and ``done`` are the messages for a flow refused and for the count switched on."""
        for flow, found in switched.refused:
            self.message_user(
                request,
                format_html(
                    refused,
                    flow=flow,
                    problem=found[0].text,
                    count=ngettext(
                        "%d problem in all, listed on its page",
                        "%d problems in all, listed on its page",
                        len(found),
                    )
                    % len(found),
                ),
                messages.ERROR,
            )
        count = len(switched.done)
        # "0 flows activated." under the reasons only repeats them (on a flow's own page,
        # beside its Activate button, it reads as a second failure).
        if count or not switched.refused:
            self.message_user(
                request, done % {"n": count}, messages.SUCCESS if count else messages.WARNING
            )

    @admin.action(description=_("Pause the selected flows"), permissions=["change"])
    def pause(self, request, queryset):
        paused = lifecycle.pause(queryset)
        self.message_user(
            request,
            ngettext(
                "%d flow paused: its contacts wait where they are until it is resumed.",
                "%d flows paused: their contacts wait where they are until they are resumed.",
                paused,
            )
            % paused,
            messages.SUCCESS if paused else messages.WARNING,
        )

    @admin.action(description=_("Archive the selected flows"), permissions=["change"])
    def archive(self, request, queryset):
        archived, exited = lifecycle.archive(queryset)
        self.message_user(
            request,
            ngettext("%(n)d flow archived", "%(n)d flows archived", archived) % {"n": archived}
            + "; "
            + ngettext(
                "%(n)d contact taken out of it, their waiting messages cancelled.",
                "%(n)d contacts taken out, their waiting messages cancelled.",
                exited,
            )
            % {"n": exited},
            messages.SUCCESS if archived else messages.WARNING,
        )

    @admin.action(description=_("Copy the selected flows as drafts"), permissions=["add"])
    def duplicate(self, request, queryset):
        copies = [lifecycle.copy_flow(flow) for flow in queryset]
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:omnichannel_flow_change", args=[c.pk]), c) for c in copies),
        )
        self.message_user(
            request,
            format_html(
                "{}: {}",
                ngettext("%d flow copied as a draft", "%d flows copied as drafts", len(copies))
                % len(copies),
                links,
            ),
            messages.SUCCESS,
        )

    # --- views -----------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/dry-run/",
                view(self.dry_run_view),
                name="omnichannel_flow_dry_run",
            ),
            path(
                "<path:object_id>/graph.json",
                view(self.graph_view),
                name="omnichannel_flow_graph",
            ),
            path(
                "<path:object_id>/canvas/",
                view(require_POST(self.canvas_save_view)),
                name="omnichannel_flow_canvas",
            ),
            path(
                "<path:object_id>/do/<str:action>/",
                view(require_POST(self.object_action_view)),
                name="omnichannel_flow_do",
            ),
            *super().get_urls(),
        ]

    def object_action_view(self, request, object_id, action):
        """The buttons on a flow's page run the list actions on that one flow."""
        offered = {name for buttons in self.OBJECT_ACTIONS.values() for name, _label in buttons}
        if action not in offered | {self.COPY_BUTTON[0]}:
            raise Http404
        flow = self.get_object(request, unquote(object_id))
        if flow is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self._may_run(request, action):
            raise PermissionDenied
        getattr(self, action)(request, Flow.objects.filter(pk=flow.pk))
        return HttpResponseRedirect(reverse("admin:omnichannel_flow_change", args=[flow.pk]))

    def _may_run(self, request, action):
        """Whether the user holds the permissions of ``action``, as the list's actions."""
        run = getattr(self, action)
        return all(getattr(self, f"has_{p}_permission")(request) for p in run.allowed_permissions)

    def graph_view(self, request, object_id):
        """The flow as a graph with its figures (``flows.graph``), as JSON for the canvas;
        ``since`` / ``until`` (YYYY-MM-DD) choose the period as on the flow's page."""
        flow = self.get_object(request, unquote(object_id))
        if flow is None:
            return JsonResponse({"error": _("No such flow.")}, status=404)
        if not self.has_view_permission(request, flow):
            raise PermissionDenied
        period = FiguresPeriodForm(request.GET)
        if not period.is_valid():
            return JsonResponse({"errors": period.errors.get_json_data()}, status=400)
        return JsonResponse(flow_graph(flow, *period.bounds()))

    def canvas_save_view(self, request, object_id):
        """The graph drawn on the canvas, posted as JSON, becomes the flow's steps
        (``flows.canvas``); 400 with the named problems when it is refused."""
        flow = self.get_object(request, unquote(object_id))
        if flow is None:
            return JsonResponse({"error": _("No such flow.")}, status=404)
        if not self.has_change_permission(request, flow):
            raise PermissionDenied
        try:
            payload = json.loads(request.body)
        except ValueError:
            payload = None
        try:
            layout = apply_canvas(flow, payload)
        except CanvasError as refused:
            return JsonResponse({"problems": refused.problems}, status=400)
        return JsonResponse({"layout": layout})

    def dry_run_view(self, request, object_id):
        """Who would receive what, when: the flow replayed for recent contacts."""
        flow = self.get_object(request, unquote(object_id))
        if flow is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        # The page lists real contacts and what they would get.
        if not (self.has_view_permission(request, flow) and may_view_contacts(request)):
            raise PermissionDenied
        form = DryRunForm(request.GET or None)
        options = form.options()
        if options["who"] == "enrolled":
            enrollments = (
                Enrollment.objects.filter(flow=flow)
                .select_related("flow", "contact", "cart")
                .prefetch_related("contact__push_subscriptions")
                .order_by("-enrolled_at")
            )
            plans = dry_run_enrolled(enrollments[: DryRunForm.LIMIT])
        else:
            contacts = Contact.objects.prefetch_related("push_subscriptions")
            plans = dry_run(
                flow,
                contacts.order_by("-created_at")[: DryRunForm.LIMIT],
                from_signup=options["start"] == "signup",
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": flow,
            "title": _("Dry run of “%s”") % flow,
            "form": form,
            "plans": plans,
            "limit": DryRunForm.LIMIT,
            "inactive": flow.status != FlowStatus.ACTIVE,
        }
        return TemplateResponse(request, "admin/omnichannel/flow/dry_run.html", context)
