"""The outbox: one row per message to send, and the events that happen to it."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from .channels import Channel
from .consent import Purpose


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


# A message in one of these states will never be sent (again) unless staff requeue it.
FINAL_STATUSES = (
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.FAILED,
    MessageStatus.CANCELLED,
    MessageStatus.EXPIRED,
)


class Message(models.Model):
    """A message to one contact on one channel, from queued to its final state.

    ``idempotency_key`` is unique: whoever enqueues (a flow step, a test send) builds it
    from what makes the message unique (enrollment + step + channel), so a retried task or
    a second sweeper enqueues nothing twice. ``content`` holds staff-authored templates
    (subject, text, html, title, url, ...) and ``context`` the JSON values they render
    with; ``rendered`` keeps what was actually sent.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    contact = models.ForeignKey(
        "omnichannel.Contact", on_delete=models.CASCADE, related_name="messages"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    purpose = models.CharField(
        _("purpose"), max_length=16, choices=Purpose.choices, default=Purpose.MARKETING
    )
    source = models.CharField(
        _("source"), max_length=100, blank=True, help_text=_("What queued it, e.g. a flow step.")
    )
    enrollment = models.ForeignKey(
        "omnichannel.Enrollment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    step = models.ForeignKey(
        "omnichannel.Step",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    variant = models.ForeignKey(
        "omnichannel.StepVariant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    priority = models.SmallIntegerField(_("priority"), default=0, help_text=_("Higher first."))
    scheduled_at = models.DateTimeField(_("due"))
    expires_at = models.DateTimeField(
        _("expires"), null=True, blank=True, help_text=_("Never sent after this moment.")
    )
    content = models.JSONField(_("content"), default=dict)
    context = models.JSONField(_("template context"), default=dict, blank=True)
    rendered = models.JSONField(_("rendered"), default=dict, blank=True)
    to = models.CharField(_("sent to"), max_length=512, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    provider = models.CharField(_("provider"), max_length=64, blank=True)
    provider_message_id = models.CharField(
        _("provider message id"), max_length=128, blank=True, db_index=True
    )
    segments = models.PositiveSmallIntegerField(_("segments"), null=True, blank=True)
    cost = models.DecimalField(_("cost"), max_digits=10, decimal_places=5, null=True, blank=True)
    cost_currency = models.CharField(_("cost currency"), max_length=3, blank=True)
    # The lease: a claimed message belongs to one worker until locked_until.
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)
    locked_by = models.CharField(max_length=64, blank=True, editable=False)
    # Set just before the provider call: a lease that expires with this set means the
    # message may have gone out, so it is reconciled, never blindly re-sent.
    handed_at = models.DateTimeField(_("handed to provider"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at"]
        # Sending again is not "changing" a message (staff change nothing on it).
        permissions = [("requeue_message", _("Can requeue failed or cancelled messages"))]
        indexes = [
            # The dispatcher's two reads: due queued rows, and leases that ran out.
            models.Index(
                fields=["-priority", "scheduled_at"],
                condition=models.Q(status="queued"),
                name="omnichannel_msg_due",
            ),
            models.Index(
                fields=["locked_until"],
                condition=models.Q(status="sending"),
                name="omnichannel_msg_lease",
            ),
            models.Index(fields=["contact", "channel", "sent_at"], name="omnichannel_msg_sent"),
            # The contact timeline reads a contact's messages newest first.
            models.Index(fields=["contact", "created_at"], name="omnichannel_msg_timeline"),
            # The marketing home counts a period's sent messages per day, channel and cost
            # currency from this index alone (an index-only scan: every column it reads is
            # here, the id for joining their events); status changes, which come with these
            # writes, were never HOT updates (status is in the partial indexes above).
            models.Index(
                fields=["sent_at", "channel", "cost_currency", "delivered_at", "cost", "id"],
                condition=models.Q(sent_at__isnull=False),
                name="omnichannel_msg_sent_at",
            ),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} to {self.contact} ({self.get_status_display()})"


class DeliveryEventKind(models.TextChoices):
    QUEUED = "queued", _("Queued")
    DEFERRED = "deferred", _("Deferred")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    OPENED = "opened", _("Opened")
    CLICKED = "clicked", _("Clicked")
    READ = "read", _("Read")
    BOUNCED = "bounced", _("Bounced")
    COMPLAINED = "complained", _("Complained")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    UNDELIVERED = "undelivered", _("Undelivered")
    FAILED = "failed", _("Failed")
    RETRY = "retry", _("Will retry")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


class DeliveryEvent(models.Model):
    """Append-only history of a message: ours (deferred, retry) and the provider's.

    ``provider_event_id`` is unique when present, so a webhook delivered twice records
    once. ``raw`` keeps the provider's payload as received.
    """

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=16, choices=DeliveryEventKind.choices)
    detail = models.TextField(_("detail"), blank=True)
    provider_event_id = models.CharField(max_length=200, null=True, blank=True, unique=True)
    raw = models.JSONField(default=dict, blank=True)
    # An open the ESP reports as made by a machine (a mail client or scanner fetching the
    # images on delivery, e.g. Apple Mail Privacy Protection), not by the reader.
    machine = models.BooleanField(_("machine open"), default=False)
    occurred_at = models.DateTimeField(_("at"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("delivery event")
        verbose_name_plural = _("delivery events")
        ordering = ["occurred_at", "id"]
        indexes = [
            # The marketing home reads a period's opens, clicks, bounces and unsubscribes
            # from this index alone, without the payloads.
            models.Index(
                fields=["occurred_at", "kind", "machine", "message"], name="omnichannel_event_time"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} at {self.occurred_at:%Y-%m-%d %H:%M}"
