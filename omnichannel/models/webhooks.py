"""Outgoing webhooks: the integrator's endpoints, and one delivery row per event and endpoint.

A delivery is scheduled work like a message: its due time (``next_attempt_at``) lives in
the row, a beat-driven sweeper claims due rows under a lease (``omnichannel.outgoing``),
and a lost Celery task loses nothing.
"""

import secrets
import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEvent(models.TextChoices):
    """The events an endpoint can subscribe to (the ``type`` of a delivered event)."""

    SUBSCRIBED = "contact.subscribed", _("Contact subscribed (consent given)")
    UNSUBSCRIBED = "contact.unsubscribed", _("Contact unsubscribed (consent withdrawn)")
    MESSAGE_SENT = "message.sent", _("Message sent")
    MESSAGE_CLICKED = "message.clicked", _("Message clicked")
    CART_RECOVERED = "cart.recovered", _("Cart recovered")
    ORDER_ATTRIBUTED = "order.attributed", _("Order attributed to a message")


#: The event staff send from the admin to try an endpoint; no endpoint subscribes to it.
TEST_EVENT = "endpoint.test"


def new_secret():
    """A signing secret: 32 random bytes, prefixed so a leaked one is recognisable."""
    return f"whsec_{secrets.token_urlsafe(32)}"


class WebhookEndpoint(models.Model):
    """A URL of the integrator's that receives the events it subscribed to, signed.

    While a secret is being rotated the old one keeps signing too (``previous_secret``,
    until ``previous_secret_expires_at``), so the receiver can switch without losing events.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    url = models.URLField(_("URL"), max_length=2000, help_text=_("Receives a POST per event."))
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(
        _("events"), default=list, help_text=_("The event types this endpoint receives.")
    )
    secret = models.CharField(_("signing secret"), max_length=100, default=new_secret)
    previous_secret = models.CharField(
        _("previous signing secret"), max_length=100, blank=True, editable=False
    )
    previous_secret_expires_at = models.DateTimeField(
        _("previous secret signs until"), null=True, blank=True, editable=False
    )
    is_active = models.BooleanField(_("active"), default=True)
    consecutive_failures = models.PositiveIntegerField(
        _("consecutive failures"), default=0, editable=False
    )
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True, editable=False)
    disabled_reason = models.CharField(
        _("why it was disabled"), max_length=300, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["url", "pk"]

    def __str__(self):
        return self.description or self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERING = "delivering", _("Delivering")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class WebhookDelivery(models.Model):
    """One event for one endpoint: its body, and what the endpoint answered last.

    ``event_id`` is the event's id, the same for every endpoint it goes to and on every
    retry, so the receiver can drop a repeat; (endpoint, event) is unique, so queueing an
    event twice delivers it once. ``contact_uuid`` says whose data the payload carries, so
    an erasure finds and scrubs it.
    """

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, editable=False)
    event_type = models.CharField(_("event"), max_length=50)
    payload = models.JSONField(_("payload"), default=dict)
    contact_uuid = models.UUIDField(_("contact"), null=True, blank=True, db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    locked_by = models.CharField(max_length=100, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("last response status"), null=True, blank=True)
    last_response = models.TextField(_("last response body (excerpt)"), blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        permissions = [("retry_webhookdelivery", _("Can retry webhook deliveries"))]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="omnichannel_webhook_once_per_endpoint"
            )
        ]
        indexes = [
            # The sweeper's two reads: due pending rows, and leases that ran out.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="omnichannel_webhook_due",
            ),
            models.Index(
                fields=["locked_until"],
                condition=models.Q(status="delivering"),
                name="omnichannel_webhook_leased",
            ),
        ]

    def __str__(self):
        return f"{self.event_type} -> {self.endpoint}"
