"""The "Cart recovery" dashboard: the figures of ``omnichannel.carts.recovery_report`` over a
period, for staff with the *view cart recovery* permission.

It is a page of its own in the admin (``admin:omnichannel_cartrecovery_changelist``,
``/admin/omnichannel/cartrecovery/``): the ``CartRecovery`` proxy model gives it a row in the
admin index, the app index and the Marketing section, and a permission apart from reading
carts. The chart is drawn on the server as inline SVG: no script, no external asset,
readable by a screen reader through its title, description and table (``admin.charts``).
"""

from operator import attrgetter

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext

from ..carts.recovery_report import recovery_report
from ..models import CartRecovery
from .charts import bar_chart
from .display import percent
from .periods import DEFAULT_DAYS, PeriodForm, default_period
from .readonly import ReadOnlyAdmin


def rates(report):
    """The report's ratios as the page shows them."""
    holdout = report.holdout
    return {
        "recovery": percent(report.recovery_rate),
        "enrolled": percent(holdout.enrolled_rate),
        "held_out": percent(holdout.held_out_rate),
        "lift_points": percent(holdout.lift_points, signed=True, suffix=""),
        "lift": percent(holdout.lift, signed=True),
    }


@admin.register(CartRecovery)
class CartRecoveryAdmin(ReadOnlyAdmin):
    """The dashboard in place of a change list; nothing to add, change or delete."""

    def get_urls(self):
        dashboard = self.admin_site.admin_view(self.dashboard_view)
        return [path("", dashboard, name="omnichannel_cartrecovery_changelist")]

    def dashboard_view(self, request):
        """The page; bad dates are reported on the form and the default period shown."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = PeriodForm(request.GET)
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            form = PeriodForm(initial={"start": start, "end": end})  # shows the dates used
        else:
            start, end = default_period()
        report = recovery_report(start, end)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Cart recovery"),
            "opts": self.opts,
            "form": form,
            "default_days": DEFAULT_DAYS,
            "report": report,
            "rates": rates(report),
            "chart": bar_chart(report.days, attrgetter("abandoned"), attrgetter("recovered")),
        }
        return TemplateResponse(request, "admin/omnichannel/recovery/dashboard.html", context)
