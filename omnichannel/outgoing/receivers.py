"""From the app's signals to webhook deliveries, through one function (``queue_on_commit``).

Every receiver takes ``**kwargs`` and never raises into the code that sent the signal;
the payload is built when the transaction commits, from what was committed.

Clicks have no single place in the code (the click redirect, the cart restore link, the
push service worker and the ESP's reports each record one), but each records a ``clicked``
``DeliveryEvent``: the first save of one sends ``message_clicked``.
"""

from django.db import transaction
from django.db.models.signals import post_save

from .. import signals
from ..integrations.safety import never_raises
from ..models import DeliveryEvent, Message
from ..models.messages import DeliveryEventKind
from ..models.webhooks import WebhookEvent
from . import events
from .queueing import queue_on_commit


def contact_uuid(contact):
    return contact.uuid if contact is not None else None


def consent_receiver(event_type):
    @never_raises
    def receiver(sender, contact, channel, consent, **kwargs):
        queue_on_commit(
            event_type,
            lambda: [(events.consent_data(event_type, contact, channel, consent), contact.uuid)],
        )

    return receiver


on_subscribed = consent_receiver(WebhookEvent.SUBSCRIBED)
on_unsubscribed = consent_receiver(WebhookEvent.UNSUBSCRIBED)


@never_raises
def on_messages_sent(sender, messages, **kwargs):
    """One event per message, all written in one INSERT."""
    queue_on_commit(
        WebhookEvent.MESSAGE_SENT,
        lambda: [
            (events.message_event_data(message), contact_uuid(message.contact))
            for message in messages
        ],
    )


@never_raises
def on_message_clicked(sender, message, url="", **kwargs):
    queue_on_commit(
        WebhookEvent.MESSAGE_CLICKED,
        lambda: [(events.message_event_data(message, url=url), contact_uuid(message.contact))],
    )


@never_raises
def on_cart_recovered(sender, cart, order, **kwargs):
    queue_on_commit(
        WebhookEvent.CART_RECOVERED,
        lambda: [(events.cart_recovered_data(cart, order), contact_uuid(order.contact))],
    )


@never_raises
def on_order_attributed(sender, order, message, **kwargs):
    queue_on_commit(
        WebhookEvent.ORDER_ATTRIBUTED,
        lambda: [
            (
                events.message_event_data(message, order=events.order_data(order)),
                contact_uuid(message.contact),
            )
        ],
    )


@never_raises
def on_delivery_event_saved(sender, instance, created, raw=False, **kwargs):
    """The first save of a ``clicked`` event sends ``message_clicked``, on commit."""
    if raw or not created or instance.kind != DeliveryEventKind.CLICKED:
        return

    def send():
        message = Message.objects.select_related("contact").filter(pk=instance.message_id).first()
        if message is not None:
            url = instance.detail if instance.detail.startswith(("http://", "https://")) else ""
            signals.message_clicked.send(sender=Message, message=message, url=url)

    transaction.on_commit(send)


def connect():
    uid = "omnichannel.outgoing."
    signals.contact_subscribed.connect(on_subscribed, dispatch_uid=uid + "subscribed")
    signals.contact_unsubscribed.connect(on_unsubscribed, dispatch_uid=uid + "unsubscribed")
    signals.message_sent.connect(on_messages_sent, dispatch_uid=uid + "sent")
    signals.message_clicked.connect(on_message_clicked, dispatch_uid=uid + "clicked")
    signals.cart_recovered.connect(on_cart_recovered, dispatch_uid=uid + "recovered")
    signals.order_attributed.connect(on_order_attributed, dispatch_uid=uid + "attributed")
    post_save.connect(
        on_delivery_event_saved, sender=DeliveryEvent, dispatch_uid=uid + "click-events"
    )
