"""Rate limits of the popup API, read from ``OMNICHANNEL["POPUP_RATE_LIMITS"]``.

Clients are counted by the IP the app trusts (``CLIENT_IP_HEADER``, see
``omnichannel.core.request_meta``), and subscriptions also by email address, so neither one
address from many IPs nor many addresses from one IP can flood a mailbox or mint codes.
DRF keeps the counts in Django's default cache: share it between processes in production.
"""

import hashlib

from rest_framework.throttling import SimpleRateThrottle

from ..conf import DEFAULTS, omnichannel_settings
from ..core.normalize import normalize_email
from ..core.request_meta import client_ip


class PopupRateThrottle(SimpleRateThrottle):
    #: The key of ``POPUP_RATE_LIMITS`` this throttle reads; also its cache scope.
    scope = None

    def get_rate(self):
        # A project may set only some limits; None switches one off.
        limits = {**DEFAULTS["POPUP_RATE_LIMITS"], **omnichannel_settings.POPUP_RATE_LIMITS}
        return limits[self.scope]

    def get_cache_key(self, request, view):
        ident = client_ip(request._request) or "unknown"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class EventsPerIP(PopupRateThrottle):
    scope = "events_per_ip"


class SubscribePerIP(PopupRateThrottle):
    scope = "subscribe_per_ip"


class PushPerIP(PopupRateThrottle):
    scope = "push_per_ip"


class SubscribePerEmail(PopupRateThrottle):
    scope = "subscribe_per_email"

    def get_cache_key(self, request, view):
        data = request.data
        email = data.get("email") if isinstance(data, dict) else None
        if not isinstance(email, str) or not email.strip():
            return None
        digest = hashlib.sha256(normalize_email(email).encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}
