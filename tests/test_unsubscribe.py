"""One-click unsubscribe (RFC 8058) and the preference centre."""

import pytest
from django.test import Client
from django.urls import reverse

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
