"""UTM parameters and click tracking for the links of flow messages.

Right before a flow message is sent (``rendering.render_message``), every http(s) link in
its HTML part (the ``href`` of ``<a>`` and ``<area>`` tags) and the ``url`` of a push or
inbox message is pointed at ``PUBLIC_BASE_URL/omnichannel/c/<token>/``. The token is
signed (``core/tokens.py``) and carries the message UUID and the target
URL with the UTM parameters added. The click view records the click and redirects to
exactly that signed URL: the target never comes from anything a visitor can edit, so the
redirect cannot be pointed elsewhere.

Left as written:

* the app's own links: unsubscribe and preferences must work directly (RFC 8058,
  CAN-SPAM), and a cart restore link records its own click;
* ``mailto:``, ``tel:`` and every other non-http link;
* SMS and WhatsApp text, and the plain-text part of an email: a tracked link is about
  200 characters, which turns a one-segment SMS into three paid ones, and finding URLs
  in free text is guesswork that HTML attributes do not need;
* everything, while ``PUBLIC_BASE_URL`` is not set: a relative redirect link does not
  work from a mailbox.

Site-relative links (``/products/mug/``) are made absolute on ``PUBLIC_BASE_URL`` first,
as the adapter's contract promises for product and cart URLs.
"""

import html
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.urls import Resolver404, resolve, reverse

from ..conf import omnichannel_settings
from ..core.links import absolute_url
from ..core.tokens import click_token
from ..models.channels import Channel

# Channels whose content has a ``url`` part that a tap on the message opens.
URL_CHANNELS = {Channel.PUSH, Channel.INBOX}

# An <a> or <area> start tag; attribute values may hold ">" inside their quotes.
LINK_TAG = re.compile(
    r"""(?P<head><(?:a|area)(?=[\s/>]))(?P<attributes>(?:[^>"']|"[^"]*"|'[^']*')*)>""",
    re.IGNORECASE,
)
# One attribute of a tag, with its value quoted, unquoted or absent.
ATTRIBUTE = re.compile(
    r"""(?P<name>[^\s"'>/=]+)(?:(?P<equals>\s*=\s*)(?P<value>"[^"]*"|'[^']*'|[^\s"'>]+))?"""
)


def click_url(message, url):
    return absolute_url(reverse("omnichannel:click", args=[click_token(message, url)]))


# --- UTM -------------------------------------------------------------------------------


def utm_parameters(message):
    """Where a visit came from, read from the message's stored context (no query)."""
    context = message.context or {}
    content = str((context.get("step") or {}).get("position", ""))
    if context.get("variant"):
        content = f"{content}-{context['variant']}"
    parameters = {
        "utm_source": "omnichannel",
        "utm_medium": message.channel,
        "utm_campaign": (context.get("flow") or {}).get("slug", ""),
        "utm_content": content,
    }
    return {name: value for name, value in parameters.items() if value}


def with_utm(url, parameters):
    """``url`` with the ``parameters`` it lacks appended; those it has are kept as set."""
    parts = urlsplit(url)
    present = {name for name, _value in parse_qsl(parts.query, keep_blank_values=True)}
    missing = {name: value for name, value in parameters.items() if name not in present}
    if not missing:
        return url
    query = "&".join(part for part in (parts.query, urlencode(missing)) if part)
    return urlunsplit(parts._replace(query=query))


# --- rewriting -------------------------------------------------------------------------


def is_own_link(parts):
    """True for a link to one of the app's own pages (unsubscribe, preferences, ...)."""
    base = urlsplit(omnichannel_settings.PUBLIC_BASE_URL)
    if parts.netloc.lower() != base.netloc.lower():
        return False
    prefix = base.path.rstrip("/")
    path = parts.path
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix) :]
    try:
        return "omnichannel" in resolve(path).app_names
    except Resolver404:
        return False


def tracked(url, message, utm):
    """The click link for ``url``, or ``url`` itself when it is not to be tracked."""
    target = url.strip()
    if target.startswith("/") and not target.startswith("//"):
        target = absolute_url(target)
    parts = urlsplit(target)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or is_own_link(parts):
        return url
    return click_url(message, with_utm(target, utm))


def track_html(source, message, utm):
    """``source`` with the ``href`` of its ``<a>`` / ``<area>`` tags tracked."""

    def attribute(match):
        value = match.group("value")
        if match.group("name").lower() != "href" or value is None:
            return match.group(0)
        if value[0] in "\"'":
            value = value[1:-1]
        url = html.unescape(value)
        link = tracked(url, message, utm)
        if link == url:
            return match.group(0)
        return f'{match.group("name")}="{html.escape(link)}"'

    def tag(match):
        attributes = ATTRIBUTE.sub(attribute, match.group("attributes"))
        return f"{match.group('head')}{attributes}>"

    return LINK_TAG.sub(tag, source)


def track_links(rendered, message):
    """The ``rendered`` parts of a flow message with their links tracked."""
    if not omnichannel_settings.PUBLIC_BASE_URL:
        return rendered
    utm = utm_parameters(message)
    tracked_parts = dict(rendered)
    if isinstance(rendered.get("html"), str):
        tracked_parts["html"] = track_html(rendered["html"], message, utm)
    if message.channel in URL_CHANNELS and isinstance(rendered.get("url"), str):
        tracked_parts["url"] = tracked(rendered["url"], message, utm)
    return tracked_parts
