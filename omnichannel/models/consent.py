"""Consent (what a contact agreed to) and suppression (where we must not send).

They are kept apart on purpose: consent is the person's decision and is proven by its
ledger; suppression is a fact about an address (a hard bounce, a spam complaint, a STOP
reply, a manual block) that wins over any consent until it is lifted.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from .channels import Channel


class Purpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    TRANSACTIONAL = "transactional", _("Transactional")


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", _("Granted")
    PENDING = "pending", _("Awaiting double opt-in")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Consent(models.Model):
    """The current decision of one contact for one channel and purpose.

    Every change also appends a ``ConsentEvent``, which is what proves the consent; this
    row is the fast answer the sender reads before each message.
    """

    contact = models.ForeignKey(
        "omnichannel.Contact", on_delete=models.CASCADE, related_name="consents"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    purpose = models.CharField(
        _("purpose"), max_length=16, choices=Purpose.choices, default=Purpose.MARKETING
    )
    status = models.CharField(_("status"), max_length=16, choices=ConsentStatus.choices)
    source = models.CharField(_("source"), max_length=64, blank=True)
    wording = models.TextField(_("wording shown"), blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    # Double opt-in: the token mailed to the contact, and when they clicked it.
    confirmation_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    granted_at = models.DateTimeField(_("granted"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "channel", "purpose"], name="omnichannel_consent_uniq"
            )
        ]

    def __str__(self):
        channel, purpose = self.get_channel_display(), self.get_purpose_display()
        return f"{channel} {purpose}: {self.get_status_display()}"

    @property
    def is_granted(self):
        return self.status == ConsentStatus.GRANTED

    @classmethod
    def merge_contact_rows(cls, survivor, other):
        """On a contact merge, keep the latest decision per channel and purpose."""
        theirs = {(c.channel, c.purpose): c for c in cls.objects.filter(contact=other)}
        for mine in cls.objects.filter(contact=survivor):
            newer = theirs.get((mine.channel, mine.purpose))
            if newer is None:
                continue
            if newer.updated_at > mine.updated_at:
                mine.delete()
            else:
                newer.delete()
        cls.objects.filter(contact=other).update(contact=survivor)


class ConsentEvent(models.Model):
    """Append-only ledger: every grant, confirmation and withdrawal, as it was shown."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contact = models.ForeignKey(
        "omnichannel.Contact", on_delete=models.CASCADE, related_name="consent_events"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    status = models.CharField(_("new status"), max_length=16, choices=ConsentStatus.choices)
    source = models.CharField(_("source"), max_length=64, blank=True)
    wording = models.TextField(_("wording shown"), blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent ledger")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["contact", "-created_at"])]

    def __str__(self):
        return f"{self.get_channel_display()} {self.get_status_display()} ({self.source})"


class SuppressionReason(models.TextChoices):
    BOUNCE = "bounce", _("Hard bounce")
    COMPLAINT = "complaint", _("Spam complaint")
    STOP = "stop", _("STOP reply")
    UNSUBSCRIBE = "unsubscribe", _("Unsubscribed")
    INVALID = "invalid", _("Invalid address")
    MANUAL = "manual", _("Blocked by staff")


class Suppression(models.Model):
    """An address we must not send to on a channel, whoever it belongs to now.

    Keyed on the address, not the contact, because a bounce or a STOP belongs to the
    mailbox or the number: it must survive a contact being merged or erased.
    """

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    address = models.CharField(
        _("address"),
        max_length=254,
        help_text=_("Normalised email, E.164 phone, or push endpoint."),
    )
    contact = models.ForeignKey(
        "omnichannel.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="suppressions",
    )
    reason = models.CharField(_("reason"), max_length=16, choices=SuppressionReason.choices)
    detail = models.TextField(_("detail"), blank=True)
    created_at = models.DateTimeField(_("since"), auto_now_add=True)

    class Meta:
        verbose_name = _("suppression")
        verbose_name_plural = _("suppression list")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "address"], name="omnichannel_suppression_uniq"
            )
        ]

    def __str__(self):
        return f"{self.address} ({self.get_channel_display()}, {self.get_reason_display()})"
