"""Granting, confirming and withdrawing consent, and the suppression list.

Every change writes the current ``Consent`` row and appends a ``ConsentEvent`` with the
wording shown, the source, the IP and the user agent: GDPR asks that consent be
demonstrable, and the ledger is that demonstration.
"""

import uuid

from django.db import transaction
from django.utils import timezone

from .. import signals
from ..core.request_meta import client_ip, user_agent
from ..models import Consent, ConsentEvent, Suppression
from ..models.consent import ConsentStatus, Purpose


def record_consent(
    contact,
    channel,
    status,
    *,
    purpose=Purpose.MARKETING,
    source="",
    wording="",
    request=None,
):
    """Set ``contact``'s decision for ``channel`` and append it to the ledger."""
    now = timezone.now()
    evidence = {
        "source": source,
        "wording": wording,
        "ip_address": client_ip(request),
        "user_agent": user_agent(request),
    }
    with transaction.atomic():
        consent, created = Consent.objects.select_for_update().get_or_create(
            contact=contact, channel=channel, purpose=purpose, defaults={"status": status}
        )
        previous = None if created else consent.status
        consent.status = status
        for name, value in evidence.items():
            setattr(consent, name, value)
        if status == ConsentStatus.GRANTED:
            consent.granted_at, consent.withdrawn_at = now, None
        elif status == ConsentStatus.PENDING:
            consent.confirmation_token, consent.confirmed_at = uuid.uuid4(), None
        elif status == ConsentStatus.WITHDRAWN:
            consent.withdrawn_at = now
            consent.confirmation_token = None
        consent.save()
        event = ConsentEvent.objects.create(
            contact=contact, channel=channel, purpose=purpose, status=status, **evidence
        )
    transaction.on_commit(
        lambda: signals.consent_changed.send(
            sender=Consent, contact=contact, consent=consent, event=event
        )
    )
    subscription = subscription_signal(purpose, previous, status)
    if subscription is not None:
        transaction.on_commit(
            lambda: subscription.send(
                sender=Consent, contact=contact, channel=channel, consent=consent, event=event
            )
        )
    return consent


def subscription_signal(purpose, previous, status):
    """``contact_subscribed`` / ``contact_unsubscribed`` when a marketing consent became
    given / withdrawn by this change, else None (a repeat of the same answer is no news)."""
    if purpose != Purpose.MARKETING or previous == status:
        return None
    if status == ConsentStatus.GRANTED:
        return signals.contact_subscribed
    if status == ConsentStatus.WITHDRAWN and previous is not None:
        return signals.contact_unsubscribed
    return None


def grant_consent(contact, channel, *, double_opt_in=False, **evidence):
    """Record a yes; with ``double_opt_in`` it stays pending until ``confirm_consent``."""
    status = ConsentStatus.PENDING if double_opt_in else ConsentStatus.GRANTED
    return record_consent(contact, channel, status, **evidence)


def withdraw_consent(contact, channel, **evidence):
    return record_consent(contact, channel, ConsentStatus.WITHDRAWN, **evidence)


def confirm_consent(token, request=None):
    """Complete a double opt-in from the token mailed to the contact; None if unknown."""
    consent = (
        Consent.objects.filter(confirmation_token=token, status=ConsentStatus.PENDING)
        .select_related("contact")
        .first()
    )
    if consent is None:
        return None
    confirmed = record_consent(
        consent.contact,
        consent.channel,
        ConsentStatus.GRANTED,
        purpose=consent.purpose,
        source="double_opt_in",
        wording=consent.wording,
        request=request,
    )
    Consent.objects.filter(pk=confirmed.pk).update(confirmed_at=confirmed.granted_at)
    confirmed.confirmed_at = confirmed.granted_at
    return confirmed


def has_consent(contact, channel, purpose=Purpose.MARKETING):
    """Whether a message of ``purpose`` may go to ``contact`` on ``channel``.

    Marketing needs a granted (and, where asked, confirmed) consent. Transactional
    messages need none, but a contact who explicitly refused them is respected.
    """
    status = (
        Consent.objects.filter(contact=contact, channel=channel, purpose=purpose)
        .values_list("status", flat=True)
        .first()
    )
    if purpose == Purpose.TRANSACTIONAL:
        return status != ConsentStatus.WITHDRAWN
    return status == ConsentStatus.GRANTED


def suppress(channel, address, reason, *, contact=None, detail=""):
    """Put ``address`` on the suppression list for ``channel`` (idempotent)."""
    suppression, created = Suppression.objects.get_or_create(
        channel=channel,
        address=address,
        defaults={"reason": reason, "contact": contact, "detail": detail},
    )
    return suppression


def is_suppressed(channel, address):
    return bool(address) and Suppression.objects.filter(channel=channel, address=address).exists()


def lift_suppression(channel, address):
    """Remove ``address`` from the list; returns how many entries were removed."""
    deleted, _ = Suppression.objects.filter(channel=channel, address=address).delete()
    return deleted
