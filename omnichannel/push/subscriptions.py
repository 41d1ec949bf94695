"""Storing the web push subscription a browser gave, from any page or popup."""

from ..contacts.consent import grant_consent
from ..core.request_meta import user_agent
from ..integrations import session
from ..models import Contact, PopupEvent, PushSubscription
from ..models.channels import Channel
from ..models.popups import PopupEventKind


def store_subscription(contact, data, request):
    """Create or refresh the subscription in ``data`` (``PushSubscription.toJSON()``).

    The endpoint identifies the browser: subscribing again updates its keys, so the page
    may post on every visit. A known contact is attached, but an anonymous post never
    unlinks the contact a browser already belongs to. Returns ``(subscription, created)``.
    """
    defaults = {
        "p256dh": data["keys"]["p256dh"],
        "auth": data["keys"]["auth"],
        "user_agent": user_agent(request),
    }
    if contact is not None:
        defaults["contact"] = contact
    return PushSubscription.objects.update_or_create(endpoint=data["endpoint"], defaults=defaults)


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
