"""What the app reads from an HTTP request, in one place."""

from ..conf import omnichannel_settings


def client_ip(request):
    """The visitor's IP: ``REMOTE_ADDR``, or the first hop of ``CLIENT_IP_HEADER``.

    Only name a header in ``CLIENT_IP_HEADER`` when your own proxy sets it: a header the
    visitor can send is a header the visitor can forge.
    """
    if request is None:
        return None
    header = omnichannel_settings.CLIENT_IP_HEADER
    raw = request.META.get(header, "") if header else ""
    ip = raw.split(",")[0].strip() or request.META.get("REMOTE_ADDR") or None
    return ip


def user_agent(request):
    if request is None:
        return ""
    return request.META.get("HTTP_USER_AGENT", "")[:512]


def header_country(request):
    """The visitor's ISO country from ``COUNTRY_HEADER`` (set by your CDN), or ''.

    Cloudflare sends "XX" for unknown and "T1" for Tor: anything that is not two letters
    is treated as unknown.
    """
    header = omnichannel_settings.COUNTRY_HEADER
    if request is None or not header:
        return ""
    value = request.META.get(header, "").strip().upper()
    return value if len(value) == 2 and value.isalpha() and value != "XX" else ""
