"""The figures of each variant: what it was shown, what it brought in."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Sum

from ..models import PopupEvent, TrackedOrder
from ..models.popups import PopupEventKind


@dataclass(frozen=True)
class VariantFigures:
    variant: object
    impressions: int
    closes: int
    submissions: int
    # Purchases credited to the popup (``carts.attribution``: the buyer subscribed through
    # it within ATTRIBUTION["popup_days"] before buying), by the variant they subscribed
    # through (in the shop's currencies, added up as they come).
    orders: int
    revenue: Decimal

    @property
    def conversion_rate(self):
        """Submissions per impression, or None before the first impression."""
        return self.submissions / self.impressions if self.impressions else None


def variant_figures(popup):
    counts = defaultdict(Counter)
    events = (
        PopupEvent.objects.filter(popup=popup)
        .values("variant_id", "kind")
        .annotate(count=Count("id"))
    )
    for row in events:
        counts[row["variant_id"]][row["kind"]] = row["count"]
    # One signup per contact and popup, so an order joins at most one row here.
    sales = {
        row["variant"]: row
        for row in TrackedOrder.objects.filter(
            is_purchase=True, attributed_popup=popup, contact__popup_signups__popup=popup
        )
        .values(variant=F("contact__popup_signups__variant"))
        .annotate(orders=Count("id"), revenue=Sum("total"))
        .order_by()
    }
    figures = []
    for variant in popup.variants.all():
        kinds, sold = counts[variant.pk], sales.get(variant.pk, {})
        figures.append(
            VariantFigures(
                variant=variant,
                impressions=kinds[PopupEventKind.IMPRESSION],
                closes=kinds[PopupEventKind.CLOSE],
                submissions=kinds[PopupEventKind.SUBMIT],
                orders=sold.get("orders", 0),
                revenue=sold.get("revenue") or Decimal("0"),
            )
        )
    return figures
