"""One-click unsubscribe (RFC 8058) and the preference centre."""

import pytest
from django.test import Client
from django.urls import reverse

from omnichannel.contacts.consent import withdraw_consent
from omnichannel.core.tokens import unsubscribe_token
from omnichannel.models import Consent, ConsentEvent, Message
from omnichannel.outbox import queueing as outbox
from omnichannel.testing.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann():
    return ContactFactory(consents=["email", "sms"], phone="+33612345678")


def queue(contact, channel="email", purpose="marketing"):
    message, _ = outbox.enqueue(
        contact, channel, {"text": "x"}, idempotency_key=f"{channel}-{purpose}", purpose=purpose
    )
    return message


def test_one_click_post_works_without_cookies_or_csrf(ann):
    marketing = queue(ann)
    receipt = queue(ann, purpose="transactional")
    sms = queue(ann, "sms")
    client = Client(enforce_csrf_checks=True)
    url = reverse("omnichannel:unsubscribe", args=[unsubscribe_token(ann, "email")])
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Consent.objects.get(contact=ann, channel="email").status == "withdrawn"
    statuses = dict(Message.objects.values_list("pk", "status"))
    assert statuses == {marketing.pk: "cancelled", receipt.pk: "queued", sms.pk: "queued"}
    event = ConsentEvent.objects.filter(contact=ann).latest("id")
    assert (event.status, event.source) == ("withdrawn", "one-click")


def test_get_shows_a_page_and_changes_nothing(client, ann):
    url = reverse("omnichannel:unsubscribe", args=[unsubscribe_token(ann, "email")])
    response = client.get(url)
    assert response.status_code == 200
    assert b"Unsubscribe?" in response.content
    assert Consent.objects.get(contact=ann, channel="email").status == "granted"
    response = client.post(url)
    assert b"You are unsubscribed" in response.content


@pytest.mark.parametrize("token", ["garbage", "eyJjIjoiMTIzIn0:1abc:xyz", "a" * 300])
def test_bad_tokens_get_a_friendly_page(client, token):
    response = client.post(reverse("omnichannel:unsubscribe", args=[token]))
    assert response.status_code == 400
    assert b"This link does not work" in response.content


def test_tampered_token_is_refused(client, ann):
    token = unsubscribe_token(ann, "email")
    response = client.get(reverse("omnichannel:unsubscribe", args=[token[:-2] + "xx"]))
    assert response.status_code == 400


def test_preference_centre_changes_channels_and_frequency(client, ann):
    url = reverse("omnichannel:preferences", args=[unsubscribe_token(ann, "email")])
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["form"].initial["email"] is True
    queue(ann, "email")
    response = client.post(url, {"email": "", "push": "on", "frequency": "weekly"})
    assert response.status_code == 200 and response.context["saved"]
    consents = dict(Consent.objects.filter(contact=ann).values_list("channel", "status"))
    assert consents["email"] == "withdrawn"
    assert Message.objects.get().status == "cancelled"
    ann.refresh_from_db()
    assert ann.attributes["email_frequency"] == "weekly"


def test_preference_centre_refuses_an_unknown_frequency(client, ann):
    url = reverse("omnichannel:preferences", args=[unsubscribe_token(ann, "email")])
    response = client.post(url, {"email": "on", "frequency": "hourly"})
    assert response.status_code == 200 and not response.context["saved"]
    assert "frequency" in response.context["form"].errors


@pytest.mark.usefixtures("locmem_channels")
class TestConsentByTheRightDoor:
    """A link proves the channel it came by: it turns that one on, and any one off."""

    def preferences(self, client, contact, channel, data=None):
        url = reverse("omnichannel:preferences", args=[unsubscribe_token(contact, channel)])
        return client.post(url, data) if data is not None else client.get(url)

    def statuses(self, contact):
        return dict(Consent.objects.filter(contact=contact).values_list("channel", "status"))

    def test_the_email_link_never_turns_a_withdrawn_sms_consent_back_on(self, client, ann):
        withdraw_consent(ann, "sms", source="STOP reply", wording="STOP")
        response = self.preferences(client, ann, "email", {"email": "on", "sms": "on"})
        assert response.status_code == 200 and response.context["saved"]
        assert self.statuses(ann) == {"email": "granted", "sms": "withdrawn"}
        assert not ConsentEvent.objects.filter(contact=ann, source="preference centre").exists()
        # The page says where text messages are turned on.
        assert "text START to our number" in response.content.decode()

    def test_nor_grants_push_or_whatsapp(self, client, ann):
        self.preferences(client, ann, "email", {"email": "on", "push": "on", "whatsapp": "on"})
        assert set(self.statuses(ann)) == {"email", "sms"}

    def test_the_email_link_turns_email_back_on(self, client, ann):
        withdraw_consent(ann, "email", source="link", wording="Unsubscribe link")
        self.preferences(client, ann, "email", {"email": "on", "sms": "on"})
        assert self.statuses(ann) == {"email": "granted", "sms": "granted"}
        event = ConsentEvent.objects.filter(contact=ann).latest("id")
        assert (event.channel, event.status, event.source) == (
            "email",
            "granted",
            "preference centre",
        )

    def test_an_sms_link_turns_sms_on_but_not_email(self, client, ann):
        withdraw_consent(ann, "sms", source="link", wording="Unsubscribe link")
        withdraw_consent(ann, "email", source="link", wording="Unsubscribe link")
        self.preferences(client, ann, "sms", {"email": "on", "sms": "on"})
        assert self.statuses(ann) == {"email": "withdrawn", "sms": "granted"}

    def test_any_link_turns_any_channel_off(self, client, ann):
        sms = queue(ann, "sms")
        self.preferences(client, ann, "email", {"email": "on"})
        assert self.statuses(ann) == {"email": "granted", "sms": "withdrawn"}
        sms.refresh_from_db()
        assert sms.status == "cancelled"

    def test_a_granted_channel_can_be_unticked_and_a_locked_one_is_disabled(self, client, ann):
        withdraw_consent(ann, "sms", source="STOP reply", wording="STOP")
        form = self.preferences(client, ann, "email").context["form"]
        assert (form.fields["email"].disabled, form.fields["sms"].disabled) == (False, True)
        assert form.fields["push"].disabled
