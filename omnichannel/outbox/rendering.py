"""Rendering staff-authored content with the Django template language.

Templates come from the admin (trusted); values in the context may come from customers
(untrusted), so HTML parts render with autoescaping. Plain-text parts (subject, SMS,
push) render without it: an SMS must say "Tom & Jerry", not "Tom &amp; Jerry".

Trusted does not mean all-seeing: a template's context holds plain values (dicts, lists,
strings, numbers), built once per message from the fields meant for it, never a model
instance. From a ``Contact`` a template could walk to the shop user's password hash, to
every message and cart, and to other contacts; from a plain dict it reaches nothing.

A message renders in its recipient's language (``Contact.locale``, else
``LANGUAGE_CODE``): Django's ``date`` filter and the ``money`` filter of
``omnichannel_format``, which every template has without a ``{% load %}``, write dates,
numbers and amounts the way the recipient reads them.

A variable the content uses must be in the context: ``{{ discount.code }}`` in a message
without an offer raises ``MissingVariable`` instead of rendering "your code  is waiting",
and the dispatcher fails that message with the reason. Where the template itself allows
the value to be absent (inside ``{% if discount %}``, or with ``|default``: see
``template_variables``) it renders as Django renders it.
"""

import datetime
import re
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.template import Context
from django.utils import translation

from ..core.links import token_url
from ..core.tokens import unsubscribe_token
from ..exceptions import OmnichannelError
from ..integrations.adapter import get_adapter
from .blocks import expand_blocks
from .link_tracking import track_links
from .template_variables import template_uses
from .templates import _compile

# Content keys that hold HTML; every other string key is plain text.
HTML_PARTS = {"html"}
# A language tag as Django activates one: "fr", "fr-ca", "sr-latn".
LANGUAGE_TAG = re.compile(r"[a-z]{1,8}(?:-[a-z0-9]{1,8})*")
# The links signed with the recipient's unsubscribe token, by context name.
TOKEN_LINKS = {
    "unsubscribe_url": "omnichannel:unsubscribe",
    "preferences_url": "omnichannel:preferences",
}
# The shop keys the adapter documents (``get_shop_context``): always there, "" when unset,
# so that a shop without an address is a setup matter, not a failed message.
SHOP_KEYS = ("name", "url", "address", "support_email")
# Values a template may hold as they are: none has attributes leading anywhere.
PLAIN_TYPES = (str, bool, int, float, Decimal, datetime.date, datetime.time, datetime.timedelta)


def language_of(locale):
    """The language to render for a contact's ``locale`` ("fr-CA", "pt_BR", ""): the
    locale itself when it is a language tag, else ``LANGUAGE_CODE``. Translations and
    formats fall back from the region to the language (fr-CA reads French)."""
    code = str(locale or "").strip().replace("_", "-").lower()
    if LANGUAGE_TAG.fullmatch(code):
        return code
    return settings.LANGUAGE_CODE


class MissingVariable(OmnichannelError):
    """The content uses variables its message's context does not hold."""

    def __init__(self, tags):
        self.tags = tags
        super().__init__(f"the content uses {', '.join(tags)}, which this message does not provide")


@lru_cache(maxsize=2048)
def uses_of(source, autoescape):
    """The context lookups of the template ``source`` (``template_variables.Use``)."""
    return tuple(template_uses(_compile(source, autoescape)))


@lru_cache(maxsize=2048)
def required_uses(source, autoescape):
    """The lookups of ``source`` that must resolve: neither optional nor ``{% if %}`` tests."""
    uses = uses_of(source, autoescape)
    return tuple(dict.fromkeys(u for u in uses if not (u.optional or u.condition)))


def resolves(path, context):
    """Whether the template engine finds ``path`` in ``context`` (a dict key, an attribute,
    a list index, in that order, as ``django.template.Variable`` looks), without calling
    anything on the way."""
    value = context
    for part in path:
        if callable(value):
            return True  # the engine would call it: whatever it returns is its value
        try:
            value = value[part]
            continue
        except (TypeError, KeyError, IndexError, AttributeError, ValueError):
            pass
        if hasattr(value, part):
            value = getattr(value, part)
            continue
        try:
            value = value[int(part)]
        except (TypeError, KeyError, IndexError, AttributeError, ValueError):
            return False
    return True


def missing_uses(source, autoescape, context):
    """The lookups of ``source`` that would print a hole in ``context``."""
    return [u for u in required_uses(source, autoescape) if not resolves(u.path, context)]


def plain(value):
    """``value`` as JSON-like data: dicts, lists, strings, numbers, booleans, dates and None
    are copied; anything else (a model instance, an object of the shop's) becomes its text,
    so that a template cannot call or walk into it."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if value is None or isinstance(value, PLAIN_TYPES):
        return value
    return str(value)


def contact_context(contact):
    """The recipient as templates see them: their public profile fields."""
    return {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "full_name": contact.full_name,
        "email": contact.email or "",
        "phone": contact.phone or "",
        "locale": contact.locale,
        "country": contact.country,
        "time_zone": contact.time_zone,
        # Optional profile fields collected at signup (``omnichannel.forms``): JSON.
        "attributes": plain(contact.attributes or {}),
    }


def base_context(message):
    """What every template can use besides the message's own context (README: "What
    templates see")."""
    contact = message.contact
    context = {
        "contact": contact_context(contact),
        "shop": {**dict.fromkeys(SHOP_KEYS, ""), **plain(get_adapter().get_shop_context() or {})},
    }
    # Signing the links' token costs more than rendering an SMS: only for content that
    # prints a link (a template cannot name a variable without writing its name; the
    # footer of an email built from blocks prints both).
    content = message.content or {}
    sources = template_sources(content)
    wanted = [name for name in TOKEN_LINKS if name in sources or content.get("blocks")]
    if wanted:
        token = unsubscribe_token(contact, message.channel)
        context.update({name: token_url(TOKEN_LINKS[name], token) for name in wanted})
    return context


def template_sources(content):
    """The template strings of ``content`` (nested ones too: WhatsApp variables), joined."""
    return "\n".join(
        value if isinstance(value, str) else template_sources(value)
        for value in content.values()
        if isinstance(value, (str, dict))
    )


def render_content(content, context):
    """Render each string part of ``content``, and those of nested dicts (WhatsApp
    template variables); other values (numbers, ids) pass through. Raises
    ``MissingVariable`` when a part uses a variable ``context`` does not hold. An email
    built from blocks renders as the ``html`` and ``text`` they compile to."""
    rendered = {}
    for key, value in expand_blocks(content).items():
        if isinstance(value, dict):
            rendered[key] = render_content(value, context)
        elif isinstance(value, str) and "{" in value:
            html = key in HTML_PARTS
            template = _compile(value, html)
            if missing := missing_uses(value, html, context):
                raise MissingVariable(list(dict.fromkeys(use.tag for use in missing)))
            rendered[key] = template.render(Context(context, autoescape=html))
        else:
            rendered[key] = value
    return rendered


def render_context(message):
    """The whole context of ``message``, built once for all its parts: ``base_context``
    and the message's own (the flow's, the cart's, the offer's), copied so that a template
    calling a method of its context (``{{ cart.lines.clear }}``) changes nothing stored."""
    return {**base_context(message), **plain(message.context or {})}


def render_message(message):
    with translation.override(language_of(getattr(message.contact, "locale", ""))):
        rendered = render_content(message.content, render_context(message))
    if message.enrollment_id:
        # Flow messages: UTM parameters and click tracking on their links.
        rendered = track_links(rendered, message)
    return rendered
