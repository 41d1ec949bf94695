"""``{% load omnichannel_inbox %}{% omnichannel_inbox %}``: the visitor's on-site inbox.

The tag sits in the shop's base template, so it must never break a page: without a
request or a known contact it renders nothing, and any failure is logged and renders
nothing too. The markup comes from ``omnichannel/inbox.html``; override that template to
restyle it. It gets plain values (``inbox_item``), never the ``Message`` rows: from one a
template could walk to the contact, the shop user behind it and every other message.
"""

import logging

from django import template
from django.template.loader import render_to_string

from ..api import visitor_contact
from ..api.inbox import inbox_messages, safe_link

logger = logging.getLogger(__name__)
register = template.Library()

TEMPLATE = "omnichannel/inbox.html"


@register.simple_tag(takes_context=True)
def omnichannel_inbox(context, limit=10):
    """The unread count and the ``limit`` newest messages of the request's contact."""
    request = context.get("request")
    if request is None:
        return ""
    try:
        contact = visitor_contact(request)
        if contact is None:
            return ""
        messages = inbox_messages(contact)
        return render_to_string(
            TEMPLATE,
            {
                "messages": [inbox_item(message) for message in messages[:limit]],
                "unread_count": messages.filter(read_at__isnull=True).count(),
            },
            request=request,
        )
    except Exception:
        logger.exception("omnichannel: the inbox could not be rendered; the page goes on.")
    return ""


def inbox_item(message):
    """One message as the inbox template sees it. ``rendered`` holds the parts as sent,
    its ``url`` already reduced to a relative or http(s) link."""
    rendered = message.rendered or {}
    return {
        "uuid": str(message.uuid),
        "rendered": {
            "title": str(rendered.get("title", "")),
            "body": str(rendered.get("body", "")),
            "url": safe_link(rendered.get("url")),
        },
        "sent_at": message.sent_at,
        "read_at": message.read_at,
    }


@register.filter
def inbox_link(url):
    """The link of an inbox message if it is relative or http(s), else ''."""
    return safe_link(url)
