"""Privacy: export, erasure, retention, segments, contact search.

``build_history()`` gives one contact a row in every table that can hold their data,
with values distinctive enough to search the whole database for afterwards.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.test import RequestFactory
from django.utils import timezone

from omnichannel.browsing.alerts import request_alert
from omnichannel.contacts.consent import grant_consent, suppress, withdraw_consent
from omnichannel.flows.engine import enroll
from omnichannel.models import (
    DeliveryEvent,
    InboundMessage,
    Message,
    PopupEvent,
    PopupSignup,
    ProductView,
    PushSubscription,
    TrackedOrder,
)
from omnichannel.outbox.queueing import enqueue
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory, PopupFactory

from ..flows.conftest import make_flow

EMAIL = "zelda.quist@example.org"
PHONE = "+33612345678"
FIRST_NAME, LAST_NAME = "Zelda", "Quistberg"
IP = "203.0.113.77"
USER_AGENT = "QuistBrowser/9.1"
ENDPOINT = "https://push.example.net/send/zq-endpoint-42"
# What must not survive an erasure anywhere in the app's tables.
NEEDLES = (EMAIL, PHONE, "612345678", FIRST_NAME, LAST_NAME, IP, USER_AGENT, ENDPOINT)


@dataclass
class History:
    contact: object
    enrollment: object
    delivered: object
    sms: object
    pending: object
    order: object
    cart: object
    visitor_cart: object
    popup: object


def evidence_request():
    return RequestFactory().post("/", REMOTE_ADDR=IP, HTTP_USER_AGENT=USER_AGENT)


def send(contact, channel, key, *, to, rendered, **fields):
    """A message as the dispatcher leaves it after sending."""
    message, _created = enqueue(
        contact, channel, {"text": "Hi {{ contact.first_name }}"}, idempotency_key=key,
        context={"first_name": contact.first_name},
    )  # fmt: skip
    Message.objects.filter(pk=message.pk).update(
        to=to, rendered=rendered, sent_at=timezone.now(), provider="test", **fields
    )
    message.refresh_from_db()
    return message


def build_history():
    now = timezone.now()
    user = get_user_model().objects.create_user("zquist", EMAIL, "pw-123456")
    contact = ContactFactory(
        email=EMAIL, phone=PHONE, first_name=FIRST_NAME, last_name=LAST_NAME, country="FR",
        user=user, attributes={"tags": ["vip"]}, external_ids={"crm": "Q-77"},
    )  # fmt: skip
    evidence = {"source": "popup:welcome", "request": evidence_request()}
    grant_consent(contact, "email", wording="Email me offers", **evidence)
    grant_consent(contact, "sms", wording="Text me offers", **evidence)
    withdraw_consent(contact, "sms", source="sms STOP", request=evidence_request())
    suppress("sms", PHONE, "stop", contact=contact, detail="STOP reply")

    visitor = uuid.uuid4()
    lines = [{"product_id": "9", "name": "Mug", "quantity": 1, "unit_price": "54.90",
              "note": f"gift for {FIRST_NAME}"}]  # fmt: skip
    cart = CartSnapshotFactory(contact=contact, visitor_id=visitor, lines=lines)
    visitor_cart = CartSnapshotFactory(visitor_id=visitor)  # filled before they were known
    for viewer, owner in ((f"contact:{contact.pk}", contact), (f"visitor:{visitor}", None)):
        ProductView.objects.create(
            viewer=viewer, visitor_id=visitor if owner is None else None, contact=owner,
            product_id="9", name="Mug", first_viewed_at=now, last_viewed_at=now,
        )  # fmt: skip
    request_alert(contact, "9")
    order = TrackedOrder.objects.create(
        order_key="ORD-5541", contact=contact, cart=cart, total=Decimal("54.90"),
        currency="EUR", placed_at=now - timedelta(days=1),
    )  # fmt: skip

    flow = make_flow(slug="privacy-welcome", steps=[("Hello", timedelta(days=1), "email")])
    enrollment = enroll(flow, contact, trigger_key=f"signup:{contact.pk}", context={"e": EMAIL})

    delivered = send(
        contact, "email", f"receipt:{EMAIL}", to=EMAIL, status="delivered",
        rendered={"subject": f"Hi {FIRST_NAME}", "text": f"Dear {FIRST_NAME} {LAST_NAME}"},
        provider_message_id="esp-1", cost=Decimal("0.001"), cost_currency="EUR",
    )  # fmt: skip
    DeliveryEvent.objects.create(
        message=delivered, kind="opened", detail=f"opened by {EMAIL}", occurred_at=now,
        provider_event_id="esp:ev-1", raw={"recipient": EMAIL, "ip": IP, "ua": USER_AGENT},
    )  # fmt: skip
    sms = send(
        contact, "sms", "sms:1", to=PHONE, status="sent", rendered={"text": f"Hi {FIRST_NAME}"},
        provider_message_id="SM-out-1", cost=Decimal("0.07"), cost_currency="EUR", segments=1,
    )  # fmt: skip
    pending, _created = enqueue(
        contact, "email", {"text": "Soon"}, idempotency_key="later:1",
        scheduled_at=now + timedelta(hours=3), context={"name": FIRST_NAME},
    )  # fmt: skip

    InboundMessage.objects.create(
        provider_message_id="SM-in-1", channel="sms", contact=contact, from_address=PHONE,
        to_address="+15005550006", body=f"Thanks, {FIRST_NAME} here", raw={"From": PHONE},
    )  # fmt: skip
    InboundMessage.objects.create(  # sent before the number was on a contact
        provider_message_id="SM-in-0", channel="sms", from_address=PHONE,
        to_address="+15005550006", body="STOP", keyword="STOP", raw={"From": PHONE},
    )  # fmt: skip
    PushSubscription.objects.create(
        contact=contact, endpoint=ENDPOINT, p256dh="key", auth="secret", user_agent=USER_AGENT
    )
    popup = PopupFactory(slug="privacy-popup")
    variant = popup.variants.get()
    PopupSignup.objects.create(popup=popup, variant=variant, contact=contact, discount_code="ZQ10")
    for kind in ("impression", "submit"):
        PopupEvent.objects.create(popup=popup, variant=variant, kind=kind, contact=contact)
    return History(contact, enrollment, delivered, sms, pending, order, cart, visitor_cart, popup)


def rows_mentioning(needles, skip=()):
    """``(model, needle)`` for every row of the app's tables quoting one of ``needles``.

    ``skip`` names ``(model name, field)`` pairs left out of the search.
    """
    hits = []
    for model in apps.get_app_config("omnichannel").get_models():
        for row in model._base_manager.values():
            for field in [f for m, f in skip if m == model.__name__]:
                row.pop(field)
            text = json.dumps(row, cls=DjangoJSONEncoder).lower()
            hits += [(model.__name__, n) for n in needles if n.lower() in text]
    return hits
