"""The API's OpenAPI schema, and web push subscriptions from a popup."""

import pytest
from django.urls import reverse
from drf_spectacular.validation import validate_schema

from omnichannel.integrations import session
from omnichannel.models import Consent, PopupEvent, PushSubscription
from omnichannel.push.subscriptions import store_subscription
from omnichannel.testing.factories import ContactFactory

pytestmark = pytest.mark.django_db

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
    }
    subscribe = schema["paths"]["/omnichannel/api/popups/subscribe/"]["post"]
    assert set(subscribe["responses"]) == {"201", "400", "403", "415", "429", "503"}


def body(variant, subscription=SUBSCRIPTION):
    return {
        "popup": str(variant.popup.uuid),
        "variant": str(variant.uuid),
        "subscription": subscription,
    }


def test_push_subscription_from_a_popup(api, popup):
    popup.offer_push = True
    popup.save()
    variant = popup.variants.get()
    response = api.post("push-subscriptions", body(variant), HTTP_USER_AGENT="Chrome/140")
    assert response.status_code == 201, response.content
    stored = PushSubscription.objects.get()
    assert (stored.endpoint, stored.auth, stored.user_agent, stored.contact) == (
        SUBSCRIPTION["endpoint"],
        "tBHItJI5svbpez7KI4CCXg",
        "Chrome/140",
        None,
    )
    assert PopupEvent.objects.get().kind == "submit"
    # The same browser again: one row, refreshed.
    api.post("push-subscriptions", body(variant))
    assert PushSubscription.objects.count() == 1


def test_push_consent_is_recorded_for_a_known_contact(rf, popup):
    contact = ContactFactory()
    variant = popup.variants.get()
    request = rf.post("/")
    from django.contrib.sessions.backends.db import SessionStore

    request.session = SessionStore()
    session.remember_contact(request, contact)
    from omnichannel.push.subscriptions import subscribe_push

    subscribe_push(request, variant, SUBSCRIPTION)
    assert PushSubscription.objects.get().contact == contact
    consent = Consent.objects.get(contact=contact)
    assert (consent.channel, consent.status, consent.wording) == (
        "push",
        "granted",
        variant.push_button_label,
    )


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
