"""Everything the app holds about a contact, as one JSON document (GDPR access request).

The structure is fixed: every section is present (an empty list when there is nothing),
rows are ordered oldest first, and timestamps are ISO 8601. ``schema_version`` changes
whenever a key is renamed or removed, so whoever reads the file can tell.

Reads a fixed number of queries per contact, whatever the size of their history.
"""

import json
from collections import defaultdict

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F
from django.utils import timezone

from ...models import DeliveryEvent
from . import Footprint

SCHEMA = "omnichannel.contact-export"
SCHEMA_VERSION = 1

PROFILE_FIELDS = (
    "uuid", "email", "phone", "first_name", "last_name", "locale", "country", "time_zone",
    "external_ids", "attributes", "source", "signed_up_at", "created_at", "updated_at",
)  # fmt: skip
CONSENT_FIELDS = (
    "channel", "purpose", "status", "source", "wording", "ip_address", "user_agent",
    "granted_at", "confirmed_at", "withdrawn_at", "updated_at",
)  # fmt: skip
LEDGER_FIELDS = (
    "uuid", "created_at", "channel", "purpose", "status", "source", "wording", "ip_address",
    "user_agent",
)  # fmt: skip
SUPPRESSION_FIELDS = ("channel", "address", "reason", "detail", "created_at")
CART_FIELDS = (
    "uuid", "cart_key", "status", "lines", "item_count", "value", "currency",
    "last_activity_at", "abandoned_at", "converted_at", "created_at",
)  # fmt: skip
ORDER_FIELDS = (
    "order_key", "status", "is_purchase", "total", "currency", "placed_at", "updated_at",
)  # fmt: skip
VIEW_FIELDS = ("product_id", "name", "url", "price", "first_viewed_at", "last_viewed_at")
ALERT_FIELDS = ("product_id", "kind", "requested_at", "notified_at")
ENROLLMENT_FIELDS = (
    "uuid", "state", "exit_reason", "trigger_key", "triggered_at", "enrolled_at", "ended_at",
    "trigger", "next_step_at", "variants", "offer_code", "offer_expires_at", "context",
)  # fmt: skip
MESSAGE_FIELDS = (
    "uuid", "channel", "purpose", "source", "status", "to", "rendered", "context",
    "scheduled_at", "expires_at", "sent_at", "delivered_at", "read_at", "last_error",
    "provider", "created_at",
)  # fmt: skip
EVENT_FIELDS = ("kind", "detail", "occurred_at", "raw")
INBOUND_FIELDS = ("channel", "from_address", "to_address", "body", "keyword", "received_at")
PUSH_FIELDS = ("endpoint", "p256dh", "auth", "user_agent", "created_at", "last_seen_at")
SIGNUP_FIELDS = (
    "uuid", "double_opt_in", "discount_code", "code_expires_at", "created_at", "completed_at",
)  # fmt: skip


def export_contacts(contacts):
    """The export document for ``contacts`` (one person's request usually names one)."""
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "exported_at": timezone.now(),
        "contacts": [contact_data(contact) for contact in contacts],
    }


def dumps(document):
    """The document as JSON text: ISO timestamps, decimals and uuids as strings."""
    return json.dumps(document, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)


def rows(queryset, fields, order="pk", **related):
    """``fields`` of each row, oldest first; ``related`` adds values read through joins."""
    return list(queryset.order_by(order, "pk").values(*fields, **related))


def contact_data(contact):
    footprint = Footprint(contact)
    profile = {name: getattr(contact, name) for name in PROFILE_FIELDS}
    profile["shop_user"] = contact.user.get_username() if contact.user_id else None
    return {
        "profile": profile,
        "consents": rows(contact.consents.all(), CONSENT_FIELDS),
        "consent_ledger": rows(contact.consent_events.all(), LEDGER_FIELDS, "created_at"),
        "suppressions": rows(footprint.suppressions(), SUPPRESSION_FIELDS, "created_at"),
        "carts": rows(footprint.carts(), CART_FIELDS, "created_at"),
        "orders": rows(contact.orders.all(), ORDER_FIELDS, "placed_at", cart_uuid=F("cart__uuid")),
        "product_views": rows(footprint.product_views(), VIEW_FIELDS, "last_viewed_at"),
        "product_alerts": rows(contact.product_alerts.all(), ALERT_FIELDS, "requested_at"),
        "enrollments": rows(
            contact.enrollments.all(),
            ENROLLMENT_FIELDS,
            "enrolled_at",
            flow_name=F("flow__name"),
            flow_slug=F("flow__slug"),
            next_step_name=F("next_step__name"),
        ),
        "messages": messages(contact),
        "inbound_messages": rows(footprint.inbound_messages(), INBOUND_FIELDS, "received_at"),
        "push_subscriptions": rows(contact.push_subscriptions.all(), PUSH_FIELDS, "created_at"),
        "popup_signups": rows(
            contact.popup_signups.all(),
            SIGNUP_FIELDS,
            "created_at",
            popup_slug=F("popup__slug"),
            variant_name=F("variant__name"),
        ),
        "popup_events": rows(
            contact.popup_events.all(),
            ("kind", "created_at"),
            "created_at",
            popup_slug=F("popup__slug"),
            variant_name=F("variant__name"),
        ),
    }


def messages(contact):
    """Messages with what was sent (rendered) and what happened to them (events)."""
    found = rows(
        contact.messages.all(),
        (*MESSAGE_FIELDS, "id"),
        "created_at",
        flow_slug=F("step__flow__slug"),
        step_name=F("step__name"),
    )
    events = defaultdict(list)
    for event in rows(
        DeliveryEvent.objects.filter(message__contact=contact),
        EVENT_FIELDS,
        "occurred_at",
        message_pk=F("message_id"),
    ):
        events[event.pop("message_pk")].append(event)
    for message in found:
        message["events"] = events[message.pop("id")]
    return found
