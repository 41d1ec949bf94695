"""What each outgoing event carries: public fields only.

A payload names the contact by uuid and email, the one address integrators match their
own records on; no phone, name, IP, cart lines or message content. Amounts are strings
(decimals), times ISO 8601 in UTC. Every event has the same envelope::

    {"id": "<event uuid>", "type": "message.sent", "created": "2026-12-02T03:00:00+00:00",
     "data": {...}}
"""

import uuid

from django.utils import timezone

from ..models.webhooks import WebhookEvent


def iso(when):
    return when.isoformat() if when else None


def envelope(event_type, data, event_id=None, now=None):
    event_id = event_id or uuid.uuid4()
    return {
        "id": str(event_id),
        "type": event_type,
        "created": iso(now or timezone.now()),
        "data": data,
    }


def contact_data(contact):
    if contact is None:
        return None
    return {"uuid": str(contact.uuid), "email": contact.email or None}


def message_data(message):
    context = message.context or {}
    return {
        "uuid": str(message.uuid),
        "channel": message.channel,
        "purpose": message.purpose,
        "flow": (context.get("flow") or {}).get("slug"),
        "step": (context.get("step") or {}).get("position"),
        "sent_at": iso(message.sent_at),
    }


def order_data(order):
    return {
        "order_key": order.order_key,
        "status": order.status,
        "total": str(order.total),
        "currency": order.currency,
        "placed_at": iso(order.placed_at),
    }


def cart_data(cart):
    return {
        "uuid": str(cart.uuid),
        "value": str(cart.value),
        "currency": cart.currency,
        "item_count": cart.item_count,
        "abandoned_at": iso(cart.abandoned_at),
        "converted_at": iso(cart.converted_at),
    }


def consent_data(event_type, contact, channel, consent):
    subscribed = event_type == WebhookEvent.SUBSCRIBED
    return {
        "contact": contact_data(contact),
        "channel": channel,
        "source": consent.source,
        "at": iso(consent.granted_at if subscribed else consent.withdrawn_at),
        # confirm_consent records the confirmation with this source.
        "double_opt_in": subscribed and consent.source == "double_opt_in",
    }


def message_event_data(message, **extra):
    return {"contact": contact_data(message.contact), "message": message_data(message), **extra}


def cart_recovered_data(cart, order):
    return {
        "contact": contact_data(order.contact),
        "cart": cart_data(cart),
        "order": order_data(order),
    }


def test_data(endpoint):
    return {"endpoint": str(endpoint.uuid), "note": "A test event sent from the admin."}
