"""``{% load omnichannel %}{% omnichannel_popup %}``: the popups of the current page.

Put it just before ``</body>`` in the shop's base template. It writes nothing when the
template has no ``request`` (add ``django.template.context_processors.request``) or when
no popup matches, and it never raises: a problem on omnichannel's side is logged on the
``omnichannel.popups`` logger and the page renders without a popup.
"""

import logging

from django import template

from ..popups.loader import render_popups

logger = logging.getLogger("omnichannel.popups")
register = template.Library()


@register.simple_tag(takes_context=True)
def omnichannel_popup(context):
    request = context.get("request")
    if request is None:
        return ""
    try:
        # Django's CSP support (6.0+) puts the nonce in the context as csp_nonce.
        return render_popups(request, nonce=context.get("csp_nonce"))
    except Exception:
        logger.exception("omnichannel: the popup tag failed; the page renders without it.")
        return ""
