"""The marketing home: the period's results and their trend, for staff with the *view
results* permission (``omnichannel.flows.results`` computes the figures).

A page of its own in the admin (``admin:omnichannel_marketingresults_changelist``,
``/admin/omnichannel/marketingresults/``): the ``MarketingResults`` proxy model gives it the
first row of the Marketing section and a permission apart from reading orders. The period
is the last 7, 30 or 90 days or chosen dates; the trend goes by day or by week. Charts are
inline SVG (``admin.charts``), each with its figures in a table beside it.
"""

from operator import attrgetter

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from ..flows.results import marketing_results
from ..models import MarketingResults
from .charts import bar_chart, line_chart
from .display import percent
from .periods import DEFAULT_DAYS, PeriodForm, default_period
from .readonly import ReadOnlyAdmin


class ResultsPeriodForm(PeriodForm):
    """The last 7, 30 or 90 days (up to the end date, today by default) unless a start
    date is given; the trend by day or by week."""

    days = forms.TypedChoiceField(
        label=_("Period"),
        required=False,
        coerce=int,
        empty_value=DEFAULT_DAYS,
        initial=DEFAULT_DAYS,
        choices=[(7, _("last 7 days")), (30, _("last 30 days")), (90, _("last 90 days"))],
    )
    by = forms.ChoiceField(
        label=_("Trend by"),
        required=False,
        # flows.results.GRANULARITIES; "Trend by day": the words of a phrase.
        choices=[
            ("day", pgettext_lazy("trend by", "day")),
            ("week", pgettext_lazy("trend by", "week")),
        ],
    )
    field_order = ["days", "start", "end", "by"]

    def default_days(self, data):
        return data.get("days") or DEFAULT_DAYS

    def clean(self):
        data = super().clean()
        if not self.errors:
            data["by"] = data.get("by") or "day"
        return data


def rates(counts):
    """The rates of a ``MessageCounts`` as the page writes them."""
    return {
        name: percent(getattr(counts, f"{name}_rate"))
        for name in ("delivery", "open", "click", "unsubscribe", "bounce")
    }


@admin.register(MarketingResults)
class MarketingResultsAdmin(ReadOnlyAdmin):
    """The page in place of a change list; nothing to add, change or delete."""

    def get_urls(self):
        page = self.admin_site.admin_view(self.results_view)
        return [path("", page, name="omnichannel_marketingresults_changelist")]

    def results_view(self, request):
        """The page; bad parameters are reported on the form and the default period shown."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ResultsPeriodForm(request.GET)
        if form.is_valid():
            chosen = form.cleaned_data
            form = ResultsPeriodForm(initial=chosen)  # shows the dates used
        else:
            start, end = default_period(DEFAULT_DAYS)
            chosen = {"start": start, "end": end, "by": "day"}
        results = marketing_results(chosen["start"], chosen["end"], chosen["by"])
        buckets = results.buckets
        currencies = sorted(results.purchases.revenue)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Marketing home"),
            "opts": self.opts,
            "form": form,
            "default_days": DEFAULT_DAYS,
            "results": results,
            "rates": rates(results.messages),
            "channels": [(channel, rates(channel.messages)) for channel in results.channels],
            "credit_tables": [
                (
                    gettext("Revenue per flow"),
                    results.flows,
                    gettext("No order credited to a flow in this period."),
                ),
                (
                    gettext("Revenue per popup"),
                    results.popups,
                    gettext("No order credited to a popup in this period."),
                ),
            ],
            "holdouts": [
                (
                    row,
                    percent(row.enrolled_rate),
                    percent(row.held_out_rate),
                    percent(row.lift, signed=True),
                )
                for row in results.holdouts
            ],
            "revenue_charts": [
                (
                    currency,
                    bar_chart(
                        buckets,
                        lambda bucket, c=currency: bucket.purchases.revenue.get(c, 0),
                        lambda bucket, c=currency: bucket.credited.revenue.get(c, 0),
                    ),
                )
                for currency in currencies
            ],
            "messages_chart": bar_chart(
                buckets, attrgetter("messages.sent"), attrgetter("messages.clicked")
            ),
            "growth_chart": line_chart(buckets, attrgetter("new_contacts")),
        }
        return TemplateResponse(request, "admin/omnichannel/results/home.html", context)
