import pytest

from omnichannel import signals
from omnichannel.contacts.consent import (
    confirm_consent,
    grant_consent,
    has_consent,
    is_suppressed,
    lift_suppression,
    suppress,
    withdraw_consent,
)
from omnichannel.models import ConsentEvent, Suppression
from omnichannel.models.consent import Purpose

pytestmark = pytest.mark.django_db


def test_grant_records_the_evidence(contact, rf):
    request = rf.post("/", REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Firefox/140")
    consent = grant_consent(
        contact, "sms", source="popup:summer", wording="Texts about offers", request=request
    )
    assert has_consent(contact, "sms")
    event = ConsentEvent.objects.get(contact=contact)
    assert (event.channel, event.status, event.source, event.wording) == (
        "sms",
        "granted",
        "popup:summer",
        "Texts about offers",
    )
    assert (event.ip_address, event.user_agent) == ("203.0.113.7", "Firefox/140")
    assert consent.granted_at is not None


def test_client_ip_header_is_used_only_when_configured(contact, rf, settings):
    request = rf.post("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.4, 10.0.0.1")
    grant_consent(contact, "email", request=request)
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR"}
    grant_consent(contact, "push", request=request)
    ips = dict(ConsentEvent.objects.values_list("channel", "ip_address"))
    assert ips == {"email": "10.0.0.1", "push": "198.51.100.4"}


def test_withdrawal_is_appended_not_overwritten(contact):
    grant_consent(contact, "email", source="signup")
    withdraw_consent(contact, "email", source="unsubscribe")
    assert not has_consent(contact, "email")
    assert list(
        ConsentEvent.objects.filter(contact=contact).order_by("id").values_list("status", flat=True)
    ) == ["granted", "withdrawn"]


def test_double_opt_in_is_pending_until_confirmed(contact):
    consent = grant_consent(contact, "email", double_opt_in=True, source="popup")
    assert consent.status == "pending"
    assert not has_consent(contact, "email")
    confirmed = confirm_consent(consent.confirmation_token)
    assert confirmed.status == "granted" and confirmed.confirmed_at is not None
    assert has_consent(contact, "email")
    assert confirm_consent(consent.confirmation_token) is None  # single use


def test_unknown_confirmation_token_confirms_nothing(contact):
    import uuid

    assert confirm_consent(uuid.uuid4()) is None


def test_transactional_needs_no_opt_in_but_respects_a_refusal(contact):
    assert has_consent(contact, "email", Purpose.TRANSACTIONAL)
    assert not has_consent(contact, "email", Purpose.MARKETING)
    withdraw_consent(contact, "email", purpose=Purpose.TRANSACTIONAL)
    assert not has_consent(contact, "email", Purpose.TRANSACTIONAL)


def test_consent_changed_signal_carries_the_ledger_event(
    contact, django_capture_on_commit_callbacks
):
    seen = []
    signals.consent_changed.connect(
        lambda **kw: seen.append((kw["consent"].status, kw["event"].source)),
        weak=False,
        dispatch_uid="t",
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            grant_consent(contact, "email", source="popup")
    finally:
        signals.consent_changed.disconnect(dispatch_uid="t")
    assert seen == [("granted", "popup")]


def test_suppression_is_per_address_and_idempotent(contact):
    suppress("email", contact.email, "bounce", contact=contact, detail="550 no such user")
    suppress("email", contact.email, "complaint")
    assert Suppression.objects.count() == 1
    assert Suppression.objects.get().reason == "bounce"
    assert is_suppressed("email", contact.email)
    assert not is_suppressed("sms", contact.email)
    assert lift_suppression("email", contact.email) == 1
    assert not is_suppressed("email", contact.email)


def test_suppression_survives_the_contact(contact):
    suppress("email", contact.email, "complaint", contact=contact)
    address = contact.email
    contact.delete()
    assert is_suppressed("email", address)
