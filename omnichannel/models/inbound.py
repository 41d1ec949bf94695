"""Messages customers send to the shop (SMS / WhatsApp replies)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .channels import Channel


class InboundMessage(models.Model):
    """One inbound message; unique per provider id, so a retried webhook records once."""

    provider_message_id = models.CharField(max_length=128, unique=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    contact = models.ForeignKey(
        "omnichannel.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_messages",
    )
    from_address = models.CharField(_("from"), max_length=64)
    to_address = models.CharField(_("to"), max_length=64)
    body = models.TextField(_("text"), blank=True)
    keyword = models.CharField(
        _("keyword"), max_length=16, blank=True, help_text=_("STOP, START or HELP when it was one.")
    )
    raw = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["contact", "received_at"], name="omnichannel_inbound_timeline")
        ]

    def __str__(self):
        return f"{self.from_address}: {self.body[:40]}"


class SeenInboundMessage(models.Model):
    """The provider id of every inbound message acted on, kept after the message is gone.

    Twilio's signature carries no date: a captured signed webhook stays valid for as long
    as the auth token does. ``InboundMessage`` rows are purged by retention, so they cannot
    be what makes a replay harmless: a START replayed after the purge would lift a later
    STOP. These ids name no one, so neither retention nor erasure deletes them.
    """

    provider_message_id = models.CharField(max_length=128, primary_key=True)
    seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("inbound message id seen")
        verbose_name_plural = _("inbound message ids seen")

    def __str__(self):
        return self.provider_message_id
