"""The app's own copy of a shop cart, so recovery never reads the shop's tables."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class CartStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ABANDONED = "abandoned", _("Abandoned")
    RECOVERED = "recovered", _("Recovered")
    CONVERTED = "converted", _("Converted")
    EXPIRED = "expired", _("Expired")


class CartSnapshot(models.Model):
    """The last state of one shop cart, written by one upsert per cart change.

    ``cart_key`` is the shop's own identifier (a basket pk, a session cart id); ``uuid`` is
    the public id that signed restore links carry, so no sequential id ever leaves the app.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    cart_key = models.CharField(_("shop cart id"), max_length=128, unique=True)
    contact = models.ForeignKey(
        "omnichannel.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="carts",
    )
    # The anonymous visitor (a random id kept in the session) who owned the cart before a
    # contact was known; identifying the visitor later attaches these carts.
    visitor_id = models.UUIDField(_("visitor"), null=True, blank=True, db_index=True)
    lines = models.JSONField(_("lines"), default=list, blank=True)
    item_count = models.PositiveIntegerField(_("items"), default=0)
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=16, choices=CartStatus.choices, default=CartStatus.OPEN
    )
    last_activity_at = models.DateTimeField(_("last activity"))
    abandoned_at = models.DateTimeField(_("abandoned"), null=True, blank=True)
    # When the customer started checkout with this cart (gave an email for it): the one
    # case where a transactional reminder may go without marketing consent.
    checkout_started_at = models.DateTimeField(_("checkout started"), null=True, blank=True)
    # Set when the cart is found abandoned: whether a reminder could reach its contact
    # then (consent, or checkout in transactional mode). None for carts never abandoned.
    reachable = models.BooleanField(_("reachable when abandoned"), null=True, blank=True)
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("cart snapshot")
        verbose_name_plural = _("cart snapshots")
        ordering = ["-last_activity_at"]
        indexes = [
            # The abandonment sweep reads open carts by idle time.
            models.Index(
                fields=["last_activity_at"],
                condition=models.Q(status="open"),
                name="omnichannel_cart_open_idle",
            )
        ]

    def __str__(self):
        return f"cart {self.cart_key} ({self.get_status_display()})"


class CartRecovery(CartSnapshot):
    """The cart recovery dashboard's place in the admin: a proxy with no fields of its own,
    so the dashboard is a page of the admin index (and of the Marketing section) with a
    permission of its own, *view cart recovery*, apart from reading the carts themselves."""

    class Meta:
        proxy = True
        default_permissions = ("view",)
        verbose_name = _("cart recovery")
        verbose_name_plural = _("cart recovery")
