"""Orders the shop reported, kept for conversion checks and attribution."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TrackedOrder(models.Model):
    """One shop order as last reported by ``track_order``.

    ``is_purchase`` follows the ``PURCHASE_ORDER_STATUSES`` setting at the time of the
    report: an order awaiting a bank transfer is recorded but is not (yet) a purchase.
    """

    order_key = models.CharField(_("shop order id"), max_length=128, unique=True)
    contact = models.ForeignKey(
        "omnichannel.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    cart = models.ForeignKey(
        "omnichannel.CartSnapshot",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    status = models.CharField(_("shop status"), max_length=64, blank=True)
    is_purchase = models.BooleanField(_("counts as purchase"), default=True)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    placed_at = models.DateTimeField(_("placed"), db_index=True)
    lines = models.JSONField(_("lines"), default=list, blank=True)
    # When the buyer counts as lapsed (win-back), on their newest purchase only; cleared by
    # a later purchase and by the sweep that starts the win-back (``carts.winback``).
    lapses_at = models.DateTimeField(_("lapses"), null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at"]
        indexes = [
            models.Index(
                fields=["lapses_at"],
                condition=models.Q(lapses_at__isnull=False),
                name="omnichannel_order_lapse",
            )
        ]

    def __str__(self):
        return f"order {self.order_key}"
