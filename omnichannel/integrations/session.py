"""The app's small corner of ``request.session``.

It holds two ids: the anonymous visitor (random, created on first cart activity) and the
contact once known. Both survive ``login()`` because Django keeps session data when it
cycles the key for a user logging into an anonymous session.
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


def remember_contact(request, contact):
    session, state = _state(request)
    if session is not None and state.get("contact") != contact.pk:
        session[omnichannel_settings.SESSION_KEY] = {**state, "contact": contact.pk}


def forget_contact(request):
    session, state = _state(request)
    if session is not None and "contact" in state:
        session[omnichannel_settings.SESSION_KEY] = {
            k: v for k, v in state.items() if k != "contact"
        }
