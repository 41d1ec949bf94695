"""Storing the web push subscription a browser gave after the visitor clicked "allow"."""

from django.utils import timezone

from ..consent import grant_consent
from ..integrations import session
from ..models import Contact, PopupEvent, PushSubscription
from ..models.channels import Channel
from ..models.popups import PopupEventKind
from ..requests import user_agent


def store_subscription(contact, data, request):
    """Create or refresh the subscription for ``data`` (the browser's ``toJSON()`` shape).

    The endpoint identifies the browser: subscribing again updates its keys, and a known
    contact is attached but never replaced by an unknown one.
    """
    fields = {
        "p256dh": data["keys"]["p256dh"],
        "auth": data["keys"]["auth"],
        "user_agent": user_agent(request),
        "last_seen_at": timezone.now(),
    }
    if contact is not None:
        fields["contact"] = contact
    subscription, _ = PushSubscription.objects.update_or_create(
        endpoint=data["endpoint"], defaults=fields
    )
    return subscription


def subscribe_push(request, variant, data):
    """A popup's push button was accepted: store the subscription, count the conversion.

    The browser's permission prompt is the consent; it is recorded in the ledger when the
    visitor is already a known contact (a subscription may also stay anonymous).
    """
    contact_id = session.contact_id(request)
    contact = Contact.objects.filter(pk=contact_id).first() if contact_id else None
    subscription = store_subscription(contact, data, request)
    if variant is not None:
        PopupEvent.objects.create(
            popup=variant.popup, variant=variant, kind=PopupEventKind.SUBMIT, contact=contact
        )
        if contact is not None:
            grant_consent(
                contact,
                Channel.PUSH,
                source=variant.popup.source,
                wording=variant.push_button_label,
                request=request,
            )
    return subscription
