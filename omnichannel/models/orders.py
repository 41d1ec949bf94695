"""Orders the shop reported, kept for conversion checks and attribution."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AttributionKind(models.TextChoices):
    CLICK = "click", _("last click")
    SEND = "send", _("last send")


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

    # The one attribution of the order (the ``ATTRIBUTION`` setting's rule), decided once
    # when the order becomes a purchase and read by every report, so that the flow page,
    # the cart dashboard, the popup figures and the marketing home credit the same touch.
    # The step, flow and channel are copied from the message so that the credit outlives
    # the message's retention.
    attributed_by = models.CharField(
        _("attributed by"), max_length=8, choices=AttributionKind.choices, blank=True
    )
    attributed_message = models.ForeignKey(
        "omnichannel.Message",
        verbose_name=_("attributed message"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attributed_orders",
    )
    attributed_flow = models.ForeignKey(
        "omnichannel.Flow",
        verbose_name=_("attributed flow"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attributed_orders",
    )
    attributed_step = models.ForeignKey(
        "omnichannel.Step",
        verbose_name=_("attributed step"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attributed_orders",
    )
    attributed_variant = models.ForeignKey(
        "omnichannel.StepVariant",
        verbose_name=_("attributed variant"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attributed_orders",
    )
    attributed_channel = models.CharField(_("attributed channel"), max_length=16, blank=True)
    # The popup the buyer subscribed through, when that signup falls inside the popup
    # window: a source of the list, credited beside (not instead of) the message.
    attributed_popup = models.ForeignKey(
        "omnichannel.Popup",
        verbose_name=_("attributed popup"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attributed_orders",
    )

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at"]
        indexes = [
            models.Index(
                fields=["lapses_at"],
                condition=models.Q(lapses_at__isnull=False),
                name="omnichannel_order_lapse",
            ),
            # The reports group a period's purchases by flow, channel or popup.
            models.Index(
                fields=["attributed_flow", "placed_at"],
                condition=models.Q(attributed_flow__isnull=False),
                name="omnichannel_order_flow",
            ),
            models.Index(
                fields=["attributed_popup", "placed_at"],
                condition=models.Q(attributed_popup__isnull=False),
                name="omnichannel_order_popup",
            ),
        ]

    def __str__(self):
        return f"order {self.order_key}"


class MarketingResults(TrackedOrder):
    """The marketing home's place in the admin: a proxy with no fields of its own, so the
    page of the period's results is a row of the admin index (first of the Marketing
    section) with a permission of its own, *view results*, apart from reading orders."""

    class Meta:
        proxy = True
        default_permissions = ("view",)
        verbose_name = _("results")
        verbose_name_plural = _("results")
