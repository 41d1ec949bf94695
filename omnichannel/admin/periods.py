"""The period a dashboard reports on: a form of dates from the query string."""

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DEFAULT_DAYS = 30
MAX_DAYS = 366


def default_period(days=DEFAULT_DAYS):
    """The last ``days`` days, today included."""
    end = timezone.localdate()
    return end - timedelta(days=days - 1), end


class PeriodForm(forms.Form):
    """The days reported on, both included; either end may be left out (the end is then
    today, the start ``default_days`` before the end)."""

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

    def default_days(self, data):
        return DEFAULT_DAYS

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - timedelta(days=self.default_days(data) - 1)
        if start > end:
            raise ValidationError(_("The start date is after the end date."))
        if (end - start).days >= MAX_DAYS:
            raise ValidationError(
                _("Choose a period of at most %(days)d days."), params={"days": MAX_DAYS}
            )
        return {**data, "start": start, "end": end}
