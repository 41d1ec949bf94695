"""The API's OpenAPI schema, and web push subscriptions from a popup."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.validation import validate_schema

from omnichannel.api import visitor_contact
from omnichannel.integrations import session
from omnichannel.models import Consent, Contact, PopupEvent, PushSubscription
from omnichannel.push.subscriptions import store_subscription, subscribe_push
from omnichannel.testing.factories import ContactFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_forms")]

SUBSCRIPTION = {
    "endpoint": "https://fcm.googleapis.com/fcm/send/abc123",
    "expirationTime": None,
    "keys": {
        "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1Xbjha"
        "zAkj7I99e8QcYP7DkM",
        "auth": "tBHItJI5svbpez7KI4CCXg",
    },
}


def test_schema_describes_the_endpoints(client):
    response = client.get(
        reverse("omnichannel:api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    assert set(schema["paths"]) == {
        "/omnichannel/api/popups/events/",
        "/omnichannel/api/popups/subscribe/",
        "/omnichannel/api/push/subscriptions/",
        "/omnichannel/api/products/notify-me/",
    }
    subscribe = schema["paths"]["/omnichannel/api/popups/subscribe/"]["post"]
    assert set(subscribe["responses"]) == {"201", "400", "403", "415", "429", "503"}
    operations = {path: ops["post"]["operationId"] for path, ops in schema["paths"].items()}
    assert operations == {
        "/omnichannel/api/popups/events/": "popup_event",
        "/omnichannel/api/popups/subscribe/": "popup_subscribe",
        "/omnichannel/api/push/subscriptions/": "push_subscribe",
        "/omnichannel/api/products/notify-me/": "product_notify_me",
    }


def test_the_schema_generates_without_a_warning_or_error(client):
    """drf-spectacular reports problems on stderr and still answers 200: collect them."""
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        response = client.get(reverse("omnichannel:api-schema"))
    assert response.status_code == 200
    assert (dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache)) == ({}, {})


def body(variant, subscription=SUBSCRIPTION):
    return {
        "popup": str(variant.popup.uuid),
        "variant": str(variant.uuid),
        "subscription": subscription,
    }


@pytest.fixture
def push_popup(popup):
    popup.offer_push = True
    popup.save()
    return popup


def push_consents(contact):
    return list(
        Consent.objects.filter(contact=contact, channel="push").values_list("status", "wording")
    )


def test_push_subscription_from_a_popup(api, push_popup):
    variant = push_popup.variants.get()
    response = api.post("push-subscriptions", body(variant), HTTP_USER_AGENT="Chrome/140")
    assert response.status_code == 201, response.content
    stored = PushSubscription.objects.get()
    assert (stored.endpoint, stored.auth, stored.user_agent) == (
        SUBSCRIPTION["endpoint"],
        "tBHItJI5svbpez7KI4CCXg",
        "Chrome/140",
    )
    # An unknown visitor's browser gets a contact of its own, where its consent is recorded.
    contact = stored.contact
    assert (contact.email, contact.phone, contact.user, contact.source) == (
        None,
        None,
        None,
        push_popup.source,
    )
    assert push_consents(contact) == [("granted", variant.push_button_label)]
    assert PopupEvent.objects.get().kind == "submit"
    assert PopupEvent.objects.get().contact == contact
    # The same browser again: one row, refreshed, still its own contact.
    api.post("push-subscriptions", body(variant))
    assert PushSubscription.objects.get().contact == contact
    assert Contact.objects.count() == 1


def test_a_typed_email_never_gets_this_browsers_notifications(api, push_popup, client):
    """Typing someone's email into the form, then allowing push, must not hijack them."""
    ann = ContactFactory(email="ann@example.com")
    variant = push_popup.variants.get()
    typed = api.subscribe(variant, email="ann@example.com", consents=["email"])
    assert typed.status_code == 201, typed.content
    assert session.contact_id(client) == ann.pk  # the session names Ann, unverified

    assert api.post("push-subscriptions", body(variant)).status_code == 201

    stored = PushSubscription.objects.get()
    assert stored.contact != ann
    assert not ann.push_subscriptions.exists()
    assert push_consents(ann) == []
    assert push_consents(stored.contact) == [("granted", variant.push_button_label)]


def test_a_logged_in_customers_browser_joins_their_contact(api, push_popup, client, customer):
    mine = ContactFactory(user=customer, email="ann@example.com")
    client.force_login(customer)
    variant = push_popup.variants.get()
    assert api.post("push-subscriptions", body(variant)).status_code == 201
    assert PushSubscription.objects.get().contact == mine
    assert push_consents(mine) == [("granted", variant.push_button_label)]


def test_another_origin_is_refused_with_the_reason_even_when_logged_in(api, push_popup, client):
    """The login is read without DRF's CSRF check, which SameOrigin stands in for."""
    variant = push_popup.variants.get()
    for logged_in in (False, True):
        if logged_in:
            client.force_login(get_user_model().objects.create_user("eve", "e@example.com"))
        response = api.post("push-subscriptions", body(variant), HTTP_ORIGIN="https://evil.example")
        assert response.status_code == 403
        assert "shop's own pages" in response.json()["detail"]
    assert not PushSubscription.objects.exists()


def test_a_verified_session_contact_is_linked(rf, push_popup):
    contact = ContactFactory()
    request = rf.post("/")
    request.session = SessionStore()
    session.remember_contact(request, contact, verified=True)
    variant = push_popup.variants.get()
    subscribe_push(request, variant, SUBSCRIPTION, contact=visitor_contact(request))
    assert PushSubscription.objects.get().contact == contact
    assert push_consents(contact) == [("granted", variant.push_button_label)]


def test_an_anonymous_resubscribe_keeps_the_known_contact(rf):
    contact = ContactFactory()
    _, created = store_subscription(contact, SUBSCRIPTION, rf.post("/"))
    _, created_again = store_subscription(None, SUBSCRIPTION, rf.post("/"))
    assert (created, created_again) == (True, False)
    assert PushSubscription.objects.get().contact == contact


@pytest.mark.parametrize(
    "subscription, field",
    [
        ({**SUBSCRIPTION, "endpoint": "http://push.example/x"}, "endpoint"),
        ({**SUBSCRIPTION, "keys": {"p256dh": "not base64!", "auth": "x"}}, "keys"),
        ({"endpoint": SUBSCRIPTION["endpoint"]}, "keys"),
    ],
)
def test_bad_push_subscriptions_are_400(api, popup, subscription, field):
    response = api.post("push-subscriptions", body(popup.variants.get(), subscription))
    assert response.status_code == 400
    assert field in response.json()["subscription"]
