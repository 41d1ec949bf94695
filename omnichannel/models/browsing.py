"""What visitors looked at in the shop: one row per visitor and product."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ProductView(models.Model):
    """A visitor's (or a contact's) latest view of one product.

    ``viewer`` is the deduplication key: ``visitor:<uuid>`` for a session's anonymous
    visitor, ``contact:<pk>`` for a contact seen without a session. A second view of the
    same product by the same viewer updates the row (one upsert), never adds one.
    ``contact`` is set as soon as the visitor is known, and by ``identify`` for the views
    made before. ``handled_at`` is set when the browse-abandonment sweep has looked at the
    view; a later view of the product clears it again.
    """

    viewer = models.CharField(_("viewer"), max_length=64)
    visitor_id = models.UUIDField(_("visitor"), null=True, blank=True, db_index=True)
    contact = models.ForeignKey(
        "omnichannel.Contact",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="product_views",
    )
    product_id = models.CharField(_("product id"), max_length=64)
    name = models.CharField(_("name"), max_length=255)
    url = models.CharField(_("link"), max_length=500, blank=True)
    image_url = models.CharField(_("image"), max_length=500, blank=True)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2, null=True, blank=True)
    first_viewed_at = models.DateTimeField(_("first viewed"))
    last_viewed_at = models.DateTimeField(_("last viewed"))
    handled_at = models.DateTimeField(_("looked at by browse abandonment"), null=True, blank=True)

    class Meta:
        verbose_name = _("product view")
        verbose_name_plural = _("product views")
        ordering = ["-last_viewed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["viewer", "product_id"], name="omnichannel_product_view_uniq"
            )
        ]
        indexes = [
            # The browse-abandonment sweep reads identified, unhandled views by age.
            models.Index(
                fields=["last_viewed_at"],
                condition=models.Q(handled_at__isnull=True, contact__isnull=False),
                name="omnichannel_view_pending",
            ),
            models.Index(fields=["contact", "last_viewed_at"], name="omnichannel_view_contact"),
        ]

    def __str__(self):
        return f"{self.name} ({self.viewer})"

    def as_product_json(self):
        """The product as a message's template sees it."""
        return {
            "product_id": self.product_id,
            "name": self.name,
            "url": self.url,
            "image_url": self.image_url,
            "price": "" if self.price is None else str(self.price),
        }


class ProductAlertKind(models.TextChoices):
    BACK_IN_STOCK = "back_in_stock", _("Back in stock")
    PRICE_DROP = "price_drop", _("Price drop")


class ProductAlert(models.Model):
    """A contact asked to be told when a product is back in stock (or cheaper).

    Written by the "notify me" endpoint; ``notified_at`` is set once the news went into
    the flows, and cleared again when the contact asks again.
    """

    contact = models.ForeignKey(
        "omnichannel.Contact", on_delete=models.CASCADE, related_name="product_alerts"
    )
    product_id = models.CharField(_("product id"), max_length=64)
    kind = models.CharField(_("kind"), max_length=16, choices=ProductAlertKind.choices)
    requested_at = models.DateTimeField(_("requested"))
    notified_at = models.DateTimeField(_("notified"), null=True, blank=True)

    class Meta:
        verbose_name = _("product alert")
        verbose_name_plural = _("product alerts")
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "product_id", "kind"], name="omnichannel_product_alert_uniq"
            )
        ]
        indexes = [models.Index(fields=["product_id", "kind"], name="omnichannel_alert_product")]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.product_id}"


class ProductEvent(models.Model):
    """The shop said a product is back in stock or cheaper; a sweep tells who cares.

    One cheap INSERT in the shop's request (after its commit); finding the contacts who
    viewed the product or asked about it, and enrolling them, is the sweep's work.
    """

    kind = models.CharField(_("kind"), max_length=16, choices=ProductAlertKind.choices)
    product_id = models.CharField(_("product id"), max_length=64)
    product = models.JSONField(_("product"))
    old_price = models.DecimalField(
        _("old price"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    new_price = models.DecimalField(
        _("new price"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    happened_at = models.DateTimeField(_("happened"))
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        verbose_name = _("product event")
        verbose_name_plural = _("product events")
        ordering = ["-happened_at"]
        indexes = [
            models.Index(
                fields=["happened_at"],
                condition=models.Q(processed_at__isnull=True),
                name="omnichannel_product_event_due",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.product.get('name', self.product_id)}"
