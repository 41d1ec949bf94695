"""Cross-site request forgery protection for a public form on cached pages.

The popup posts from pages a CDN or Django's cache may serve to everyone, so a per-visitor
CSRF token cannot be in them, and the endpoints authorise nothing with cookies: anyone may
subscribe. What must be stopped is another site making a visitor's browser post in their
name (with their session, whose carts the subscription links). Two checks do that:

* the body must be ``application/json`` (the views accept no other parser): a cross-site
  form or a "simple" cross-origin request cannot send that content type, and a
  cross-origin ``fetch`` that does needs a CORS preflight this app never answers;
* the ``Origin`` header (or, where a browser leaves it out, ``Referer``) must name this
  site: the request's host, validated by ``ALLOWED_HOSTS``, or one of
  ``CSRF_TRUSTED_ORIGINS``. Requests with neither header are refused.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.utils.http import is_same_domain
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission


def request_origin(request):
    """The scheme://host of the page that sent ``request``, or ''."""
    origin = request.META.get("HTTP_ORIGIN", "")
    if origin and origin != "null":
        return origin
    referer = urlsplit(request.META.get("HTTP_REFERER", ""))
    return f"{referer.scheme}://{referer.netloc}" if referer.scheme and referer.netloc else ""


def is_same_origin(request):
    origin = request_origin(request)
    if not origin:
        return False
    own = f"{request.scheme}://{request.get_host()}"
    if origin == own:
        return True
    # As Django's CSRF check reads them: exact origins, or "https://*.example.com".
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        scheme, _sep, host = trusted.partition("://")
        parts = urlsplit(origin)
        if parts.scheme == scheme and is_same_domain(parts.netloc, host.lstrip("*")):
            return True
    return False


class SameOrigin(BasePermission):
    message = _(
        "This endpoint only accepts requests from the shop's own pages (Origin or Referer "
        "header of this site)."
    )

    def has_permission(self, request, view):
        return is_same_origin(request)


class SameOriginSessionAuthentication(SessionAuthentication):
    """The shop's login from the session, without DRF's CSRF token check.

    Only for views that require ``SameOrigin``: that check and the JSON-only parser are
    their CSRF protection, because the cached pages they serve cannot carry a token. The
    login matters where a visitor's own data is touched (a push subscription joins the
    logged-in customer's contact); without a login the visitor stays anonymous.
    """

    def enforce_csrf(self, request):
        return
