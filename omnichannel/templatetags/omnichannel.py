"""``{% load omnichannel %}``: the tags a shop's own templates use.

* ``{% omnichannel_popup %}`` just before ``</body>``: the popups of the current page;
* ``{% omnichannel_inbox %}`` (``limit=10``): the visitor's on-site inbox, and the
  ``|inbox_link`` filter for its template;
* ``{% omnichannel_preferences %}`` on the account page: a link to the logged-in
  customer's preference centre.

They sit in the shop's base and account templates, so they must never break a page: each
is registered through ``page_tag``, which renders nothing when the template has no
``request`` (add ``django.template.context_processors.request``) and turns any failure on
omnichannel's side into a log entry on this module's logger and an empty string. Their
markup comes from overridable templates. ``{% load omnichannel_inbox %}`` and ``{% load
omnichannel_preferences %}`` load this same library.
"""

import logging

from django import template
from django.template.loader import render_to_string
from django.urls import reverse

from ..api import visitor_contact
from ..api.inbox import inbox_messages, safe_link
from ..core.tokens import unsubscribe_token
from ..models import Contact
from ..models.channels import Channel
from ..popups.loader import render_popups

logger = logging.getLogger(__name__)
register = template.Library()

INBOX_TEMPLATE = "omnichannel/inbox.html"
PREFERENCES_TEMPLATE = "omnichannel/preferences_link.html"


def page_tag(failure):
    """Register ``function(request, context, ...)`` as a tag that needs the request and
    never raises: a failure logs ``failure`` with the traceback and renders nothing."""

    def decorator(function):
        def tag(context, *args, **kwargs):
            request = context.get("request")
            if request is None:
                return ""
            try:
                return function(request, context, *args, **kwargs)
            except Exception:
                logger.exception("omnichannel: %s", failure)
                return ""

        register.simple_tag(tag, takes_context=True, name=function.__name__)
        return function

    return decorator


@page_tag("the popup tag failed; the page renders without it.")
def omnichannel_popup(request, context):
    # Django's CSP support (6.0+) puts the nonce in the context as csp_nonce.
    return render_popups(request, nonce=context.get("csp_nonce"))


@page_tag("the inbox could not be rendered; the page goes on.")
def omnichannel_inbox(request, context, limit=10):
    """The unread count and the ``limit`` newest messages of the request's contact."""
    contact = visitor_contact(request)
    if contact is None:
        return ""
    messages = inbox_messages(contact)
    return render_to_string(
        INBOX_TEMPLATE,
        {
            "messages": [inbox_item(message) for message in messages[:limit]],
            "unread_count": messages.filter(read_at__isnull=True).count(),
        },
        request=request,
    )


def inbox_item(message):
    """One message as the inbox template sees it: plain values, never the ``Message`` row
    (from one a template could walk to the contact, the shop user behind it and every other
    message). ``rendered`` holds the parts as sent, its ``url`` already reduced to a
    relative or http(s) link."""
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


@page_tag("the preferences link failed; the page renders without it.")
def omnichannel_preferences(request, context):
    """The link carries a token signed as the page renders, the same kind every message's
    footer carries, so the preference centre needs no login of its own. Only for a
    logged-in customer: a session also names a contact when somebody typed an email into a
    popup or a checkout, which proves nothing, and the centre changes consents."""
    contact = customer_contact(request)
    if contact is None:
        return ""
    # The account page's link counts as email's: the preference centre turns on only its
    # link's channel (and any channel off).
    token = unsubscribe_token(contact, Channel.EMAIL)
    url = reverse("omnichannel:preferences", args=[token])
    return render_to_string(PREFERENCES_TEMPLATE, {"url": url}, request=request)


def customer_contact(request):
    """The contact of the logged-in user, or None (anonymous, or no contact yet)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return Contact.objects.filter(user_id=user.pk).only("uuid").first()
