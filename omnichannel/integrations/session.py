"""The app's small corner of ``request.session``.

It holds two ids: the anonymous visitor (random, created on first cart activity) and the
contact once known. Both survive ``login()`` because Django keeps session data when it
cycles the key for a user logging into an anonymous session. For popup targeting it also
keeps a summary of the last tracked cart and whether the visitor subscribed, so that
choosing a popup for a page reads no table.
"""

import uuid

from ..conf import omnichannel_settings


def _state(request):
    session = getattr(request, "session", None)
    if session is None:
        return None, {}
    return session, session.get(omnichannel_settings.SESSION_KEY, {})


def visitor_id(request, create=True):
    """The visitor's UUID, created on first use when ``create``; None without a session."""
    session, state = _state(request)
    if session is None:
        return None
    if "visitor" not in state and create:
        state = {**state, "visitor": str(uuid.uuid4())}
        session[omnichannel_settings.SESSION_KEY] = state
    value = state.get("visitor")
    return uuid.UUID(value) if value else None


def contact_id(request):
    """The pk of the contact this session belongs to, or None."""
    return _state(request)[1].get("contact")


def remember_contact(request, contact, verified=False):
    """Tie the session to ``contact``; ``verified`` when the visitor proved to be them.

    Typing an email into a popup or a checkout form proves nothing: anyone can type
    anyone's address. Such a session may attach carts and events to the contact, but
    only a verified one (a login) may read what belongs to the contact, like the inbox.
    """
    session, state = _state(request)
    if session is None:
        return
    same = state.get("contact") == contact.pk
    verified = verified or (same and state.get("verified", False))
    if not same or state.get("verified", False) != verified:
        session[omnichannel_settings.SESSION_KEY] = {
            **state,
            "contact": contact.pk,
            "verified": verified,
        }


def verified_contact_id(request):
    """The pk of the session's contact when the visitor proved to be them, else None."""
    state = _state(request)[1]
    return state.get("contact") if state.get("verified") else None


def forget_contact(request):
    session, state = _state(request)
    if session is not None and "contact" in state:
        session[omnichannel_settings.SESSION_KEY] = {
            k: v for k, v in state.items() if k != "contact"
        }


def remember_cart(request, value, items):
    """Keep the cart's value and product ids / SKUs, so popup targeting reads no table."""
    session, state = _state(request)
    if session is None:
        return
    summary = {"value": str(value), "items": sorted({str(item) for item in items if item})}
    if state.get("cart") != summary:
        session[omnichannel_settings.SESSION_KEY] = {**state, "cart": summary}


def cart_summary(request):
    """``{"value": "34.50", "items": [...]}`` of the visitor's last tracked cart, or None."""
    return _state(request)[1].get("cart")


def mark_subscribed(request):
    """Remember that this visitor subscribed through a popup (hides the others)."""
    session, state = _state(request)
    if session is not None and not state.get("subscribed"):
        session[omnichannel_settings.SESSION_KEY] = {**state, "subscribed": True}


def is_subscribed(request):
    return bool(_state(request)[1].get("subscribed"))
