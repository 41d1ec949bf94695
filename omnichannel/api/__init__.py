"""The JSON endpoints the shop's pages and the popup script call (DRF), and who the caller is.

A visitor is known by the shop's login or, without one, by the contact id the app keeps
in the session (``omnichannel.integrations.session``). Every view here sets its own
authentication, permission, parser and renderer classes, so the shop's
``REST_FRAMEWORK`` defaults (token auth, ``IsAuthenticated``, the browsable API) neither
lock visitors out nor change the answers.
"""

from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from ..integrations import session
from ..models import Contact
from .parsers import StrictJSONParser


def visitor_contact(request):
    """The contact behind ``request``: the logged-in user's, else the session's when the
    session is verified (see ``session.remember_contact``), else None."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        contact = Contact.objects.filter(user_id=user.pk).first()
        if contact is not None:
            return contact
    contact_id = session.verified_contact_id(request)
    # A merge may have deleted the contact a session still names.
    return Contact.objects.filter(pk=contact_id).first() if contact_id else None


class VisitorSessionAuthentication(SessionAuthentication):
    """Session authentication that checks the CSRF token for anonymous visitors too.

    DRF's ``SessionAuthentication`` checks CSRF only for a logged-in user. Here the
    session cookie is a credential even without a login: it names the visitor's contact,
    whose inbox and push subscriptions these endpoints change. So every unsafe request
    (POST) must carry the CSRF token, exactly as Django's middleware asks of a form: the
    shop's JavaScript sends the ``csrftoken`` cookie's value in an ``X-CSRFToken`` header.
    GET requests pass without it.
    """

    def authenticate(self, request):
        authenticated = super().authenticate(request)
        if authenticated is None:
            self.enforce_csrf(request)
        return authenticated


class VisitorAPIView(APIView):
    """JSON in, JSON out, for whoever the session says the visitor is."""

    authentication_classes = [VisitorSessionAuthentication]
    permission_classes = [AllowAny]
    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer]
