"""What ``{% omnichannel_popup %}`` writes into a page.

Two small things, neither of which blocks rendering or moves the layout: the settings of
the popups matching this request (JSON), and a one-line script that fetches the loader
(``loader.js``, a static file the browser caches) once the browser is idle. The loader
arms the triggers; only when one fires does it fetch the variant's markup (the
``popup-content`` view), the popup's script and its styles.
"""

import json
from functools import lru_cache

from django.conf import settings
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import escape, json_script
from django.utils.safestring import mark_safe

from ..conf import omnichannel_settings
from .config import live_popups
from .targeting import Visitor, matches, variants_for

# The loader puts the id of the variant it drew in place of this.
VARIANT_PLACEHOLDER = "VARIANT"

# Fetches the loader once the browser is idle (Safari has no requestIdleCallback: then
# setTimeout, right after the current task); at the latest after 2 s of a busy page. Under
# a nonce-based CSP the loader (and popup.js after it) carries the page's nonce. It is in
# every page: keep it one short line.
SNIPPET = (
    "<script{nonce}>(window.requestIdleCallback||setTimeout)(function(){{"
    'var s=document.createElement("script");s.src={src};{set_nonce}document.head.append(s)'
    "}},{{timeout:2000}})</script>"
)


@lru_cache(maxsize=16)
def page_urls(urlconf, script_prefix, static_url):
    """The URLs every page's configuration carries, and the loader's.

    Reversing and ``static()`` cost more than the rest of the tag together; the arguments
    are what the answers depend on, so the memo is right for each URLconf, script prefix
    and static URL.
    """
    urls = {
        "content": reverse("omnichannel:popup-content", args=[VARIANT_PLACEHOLDER]),
        "js": static("omnichannel/popup.js"),
        "css": static("omnichannel/popup.css"),
    }
    return urls, static("omnichannel/loader.js")


def page_config(popups, language, urls):
    return {
        **urls,
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
    urls, loader_url = page_urls(
        get_urlconf() or settings.ROOT_URLCONF, get_script_prefix(), settings.STATIC_URL
    )
    config = json_script(page_config(popups, visitor.language, urls), "omnichannel-popups")
    snippet = SNIPPET.format(
        nonce=f' nonce="{escape(nonce)}"' if nonce else "",
        set_nonce=f"s.nonce={json.dumps(escape(nonce))};" if nonce else "",
        # A JSON string is a JS string; the static URL is ours, escaped all the same.
        src=json.dumps(loader_url).replace("<", "\\u003C"),
    )
    return mark_safe(f"{config}\n{snippet}")
