"""Storing the web push subscription a browser gave, from any page or popup."""

from ..core.request_meta import user_agent
from ..models import PushSubscription


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
