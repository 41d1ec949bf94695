"""Rendering staff-authored content with the Django template language.

Templates come from the admin (trusted); values in the context may come from customers
(untrusted), so HTML parts render with autoescaping. Plain-text parts (subject, SMS,
push) render without it: an SMS must say "Tom & Jerry", not "Tom &amp; Jerry".
"""

from functools import lru_cache

from django.template import Context, Engine
from django.urls import reverse

from .flows.tracking import track_links
from .integrations.adapter import get_adapter
from .links import absolute_url, unsubscribe_token

# Content keys that hold HTML; every other string key is plain text.
HTML_PARTS = {"html"}


@lru_cache(maxsize=1)
def _engines():
    return {
        True: Engine(autoescape=True),
        False: Engine(autoescape=False),
    }


@lru_cache(maxsize=2048)
def _compile(source, autoescape):
    # A batch renders the same few step templates thousands of times: compile once.
    return _engines()[autoescape].from_string(source)


def base_context(message):
    """What every template can use besides the message's own context."""
    contact = message.contact
    token = unsubscribe_token(contact, message.channel)
    return {
        "contact": contact,
        "shop": get_adapter().get_shop_context(),
        "unsubscribe_url": absolute_url(reverse("omnichannel:unsubscribe", args=[token])),
        "preferences_url": absolute_url(reverse("omnichannel:preferences", args=[token])),
    }


def render_content(content, context):
    """Render each string part of ``content``, and those of nested dicts (WhatsApp
    template variables); other values (numbers, ids) pass through."""
    rendered = {}
    for key, value in content.items():
        if isinstance(value, dict):
            rendered[key] = render_content(value, context)
        elif isinstance(value, str) and "{" in value:
            template = _compile(value, key in HTML_PARTS)
            rendered[key] = template.render(Context(context, autoescape=key in HTML_PARTS))
        else:
            rendered[key] = value
    return rendered


def render_message(message):
    rendered = render_content(message.content, {**base_context(message), **message.context})
    if message.enrollment_id:
        # Flow messages: UTM parameters and click tracking on their links.
        rendered = track_links(rendered, message)
    return rendered
