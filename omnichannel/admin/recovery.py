"""The "Cart recovery" dashboard: the figures of ``omnichannel.carts.recovery_report`` over a
period, for staff with the *view cart recovery* permission.

It is a page of its own in the admin (``admin:omnichannel_cartrecovery_changelist``,
``/admin/omnichannel/cartrecovery/``): the ``CartRecovery`` proxy model gives it a row in the
admin index, the app index and the Marketing section, and a permission apart from reading
carts. The chart is drawn on the server as inline SVG: no script, no external asset,
readable by a screen reader through its title, description and table.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..carts.recovery_report import recovery_report
from ..models import CartRecovery
from .display import percent
from .readonly import ReadOnlyAdmin

DEFAULT_DAYS = 30
MAX_DAYS = 366
CHART_WIDTH, CHART_HEIGHT = 720, 160


def default_period():
    end = timezone.localdate()
    return end - timedelta(days=DEFAULT_DAYS - 1), end


class PeriodForm(forms.Form):
    """The days whose abandoned carts are reported; either end may be left out."""

    start = forms.DateField(
        label=_("From"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        label=_("To"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise ValidationError(_("The start date is after the end date."))
        if (end - start).days >= MAX_DAYS:
            raise ValidationError(
                _("Choose a period of at most %(days)d days."), params={"days": MAX_DAYS}
            )
        return {"start": start, "end": end}


def bar_chart(days):
    """Where the bars of the per-day chart go, in SVG user units.

    For each day, a bar for the abandoned carts and, inside it, a narrower one for those
    recovered (a part of them), both on the same scale.
    """
    peak = max((day.abandoned for day in days), default=0) or 1
    slot = CHART_WIDTH / len(days)

    def height(value):
        return CHART_HEIGHT * value / peak

    bars = [
        {
            "day": day,
            "x": round(index * slot + slot * 0.1, 2),
            "width": round(slot * 0.8, 2),
            "abandoned_y": round(CHART_HEIGHT - height(day.abandoned), 2),
            "abandoned_height": round(height(day.abandoned), 2),
            "inner_x": round(index * slot + slot * 0.3, 2),
            "inner_width": round(slot * 0.4, 2),
            "recovered_y": round(CHART_HEIGHT - height(day.recovered), 2),
            "recovered_height": round(height(day.recovered), 2),
        }
        for index, day in enumerate(days)
    ]
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "peak": peak, "bars": bars}


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
            "chart": bar_chart(report.days),
        }
        return TemplateResponse(request, "admin/omnichannel/recovery/dashboard.html", context)
