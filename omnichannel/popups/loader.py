"""What ``{% omnichannel_popup %}`` writes into a page.

Three things, none of which blocks rendering or moves the layout: the configuration of
the popups matching this request (JSON), each of their variants' markup in an inert
``<template>``, and the loader, a small inline script that arms the triggers. The popup's
own script and styles (``popup.js`` / ``popup.css``) are fetched only when a trigger
fires.
"""

from functools import cache
from pathlib import Path

from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.safestring import mark_safe

from ..conf import omnichannel_settings
from .config import live_popups
from .targeting import Visitor, matches, variants_for

LOADER_SOURCE = Path(__file__).resolve().parent.parent / "static" / "omnichannel" / "loader.js"


@cache
def loader_script():
    """``loader.js`` as inlined: whole-line comments, indentation and blank lines dropped.

    Only whole lines go, so strings and code are never cut; newlines stay, so automatic
    semicolon insertion reads the code as written. The source keeps every comment.
    """
    lines = (line.strip() for line in LOADER_SOURCE.read_text().splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))


def page_config(popups, language):
    return {
        "api": {
            "event": reverse("omnichannel:popup-events"),
            "subscribe": reverse("omnichannel:popup-subscribe"),
            "push": reverse("omnichannel:push-subscriptions"),
        },
        "js": static("omnichannel/popup.js"),
        "css": static("omnichannel/popup.css"),
        "sw": reverse("omnichannel:service_worker"),
        "vapid": omnichannel_settings.VAPID_PUBLIC_KEY or "",
        "perSession": omnichannel_settings.POPUP_MAX_PER_SESSION,
        "perDay": omnichannel_settings.POPUP_MAX_PER_DAY,
        "popups": [
            {
                "id": popup.id,
                **popup.client,
                "variants": [
                    {"id": variant.id, "w": variant.weight}
                    for variant in variants_for(popup, language)
                ],
            }
            for popup in popups
        ],
    }


def render_popups(request, nonce=None):
    """The tag's HTML for ``request``: '' when no popup matches."""
    visitor = Visitor(request)
    popups = [popup for popup in live_popups() if matches(popup, visitor)]
    if not popups:
        return ""
    templates = [
        (variant.id, mark_safe(variant.markup))  # rendered with autoescaping, then cached
        for popup in popups
        for variant in variants_for(popup, visitor.language)
    ]
    return render_to_string(
        "omnichannel/popups/loader.html",
        {
            "config": page_config(popups, visitor.language),
            "templates": templates,
            "loader_js": mark_safe(loader_script()),
            "nonce": nonce,
        },
    )
