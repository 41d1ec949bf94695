"""Storing the web push subscription a browser gave after the visitor clicked "allow"."""

from ..contacts.consent import grant_consent
from ..integrations import session
from ..models import Contact, PopupEvent
from ..models.channels import Channel
from ..models.popups import PopupEventKind
from ..push.subscriptions import store_subscription


def subscribe_push(request, variant, data):
    """A popup's push button was accepted: store the subscription, count the conversion.

    The browser's permission prompt is the consent; it is recorded in the ledger when the
    visitor is already a known contact (a subscription may also stay anonymous).
    """
    contact_id = session.contact_id(request)
    contact = Contact.objects.filter(pk=contact_id).first() if contact_id else None
    subscription, _created = store_subscription(contact, data, request)
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
