"""Rendering staff-authored content with the Django template language.

Templates come from the admin (trusted); values in the context may come from customers
(untrusted), so HTML parts render with autoescaping. Plain-text parts (subject, SMS,
push) render without it: an SMS must say "Tom & Jerry", not "Tom &amp; Jerry".

A message renders in its recipient's language (``Contact.locale``, else
``LANGUAGE_CODE``): Django's ``date`` filter and the ``money`` filter of
``omnichannel_format``, which every template has without a ``{% load %}``, write dates,
numbers and amounts the way the recipient reads them.
"""

import re
from functools import lru_cache

from django.conf import settings
from django.template import Context, Engine
from django.utils import translation

from ..core.links import token_url
from ..core.tokens import unsubscribe_token
from ..integrations.adapter import get_adapter
from .link_tracking import track_links

# Content keys that hold HTML; every other string key is plain text.
HTML_PARTS = {"html"}
# Filters every message template has: {{ cart.value|money:cart.currency }}, |isodate.
FORMAT_LIBRARY = "omnichannel.templatetags.omnichannel_format"
# A language tag as Django activates one: "fr", "fr-ca", "sr-latn".
LANGUAGE_TAG = re.compile(r"[a-z]{1,8}(?:-[a-z0-9]{1,8})*")


@lru_cache(maxsize=1)
def _engines():
    options = {"builtins": [FORMAT_LIBRARY], "libraries": {"omnichannel_format": FORMAT_LIBRARY}}
    return {
        True: Engine(autoescape=True, **options),
        False: Engine(autoescape=False, **options),
    }


def language_of(locale):
    """The language to render for a contact's ``locale`` ("fr-CA", "pt_BR", ""): the
    locale itself when it is a language tag, else ``LANGUAGE_CODE``. Translations and
    formats fall back from the region to the language (fr-CA reads French)."""
    code = str(locale or "").strip().replace("_", "-").lower()
    if LANGUAGE_TAG.fullmatch(code):
        return code
    return settings.LANGUAGE_CODE


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
        "unsubscribe_url": token_url("omnichannel:unsubscribe", token),
        "preferences_url": token_url("omnichannel:preferences", token),
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
    with translation.override(language_of(getattr(message.contact, "locale", ""))):
        rendered = render_content(message.content, {**base_context(message), **message.context})
    if message.enrollment_id:
        # Flow messages: UTM parameters and click tracking on their links.
        rendered = track_links(rendered, message)
    return rendered
