"""Storing the web push subscription a browser gave, from any page or popup."""

from ..contacts.consent import grant_consent
from ..contacts.identity import anonymous_contact
from ..core.request_meta import user_agent
from ..models import PopupEvent, PushSubscription
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


def subscribe_push(request, variant, data, *, contact=None):
    """A popup's push button was accepted: store the subscription, count the conversion.

    ``contact`` is the visitor's *verified* contact (``omnichannel.api.visitor_contact``:
    a login, or a session that proved to be them), or None. The session's unverified
    contact is never used: anyone can type someone's email into a popup, and linking this
    browser to that contact would send their notifications here, with a push consent
    recorded in their name. Without a verified contact the browser keeps the contact it
    already has, or gets an anonymous one of its own, which is not put in the session (a
    later typed email would fold it into that address's contact).

    The browser's permission prompt is the consent; it is recorded in the ledger of the
    contact the subscription belongs to.
    """
    if contact is None:
        known = PushSubscription.objects.filter(endpoint=data["endpoint"]).first()
        contact = known.contact if known is not None else None
    if contact is None:
        contact = anonymous_contact(source=variant.popup.source)
    subscription, _created = store_subscription(contact, data, request)
    PopupEvent.objects.create(
        popup=variant.popup, variant=variant, kind=PopupEventKind.SUBMIT, contact=contact
    )
    grant_consent(
        contact,
        Channel.PUSH,
        source=variant.popup.source,
        wording=variant.push_button_label,
        request=request,
    )
    return subscription
