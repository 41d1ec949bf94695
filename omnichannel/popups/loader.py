"""What ``{% omnichannel_popup %}`` writes into a page.

Two small things, neither of which blocks rendering or moves the layout: the settings of
the popups matching this request (JSON), and a one-line script that fetches the loader
(``loader.js``, a static file the browser caches) once the browser is idle. The loader
arms the triggers; only when one fires does it fetch the variant's markup (the
``popup-content`` view), the popup's script and its styles.
"""

from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse

from ..conf import omnichannel_settings
from .config import live_popups
from .targeting import Visitor, matches, variants_for

# The loader puts the id of the variant it drew in place of this.
VARIANT_PLACEHOLDER = "VARIANT"


def page_config(popups, language):
    return {
        "content": reverse("omnichannel:popup-content", args=[VARIANT_PLACEHOLDER]),
        "js": static("omnichannel/popup.js"),
        "css": static("omnichannel/popup.css"),
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
    return render_to_string(
        "omnichannel/popups/loader.html",
        {
            "config": page_config(popups, visitor.language),
            "loader_url": static("omnichannel/loader.js"),
            "nonce": nonce,
        },
    )
