"""``{% load omnichannel_preferences %}{% omnichannel_preferences %}``: a link from the
shop's account page to the customer's preference centre (channels, frequency, language).

The link carries a token signed when the page renders, the same kind every message's
footer carries, so the preference centre needs no login of its own. It is shown to a
logged-in customer only: a session can also name a contact because somebody typed an
email address into a popup or a checkout, which proves nothing about who they are, and
the preference centre changes that contact's consents.

Like the other tags it must never break the page: without a request or a contact it
renders nothing, and any failure (database, URLconf) is logged and renders nothing too.
The markup comes from ``omnichannel/preferences_link.html``; override it to restyle.
"""

import logging

from django import template
from django.template.loader import render_to_string
from django.urls import reverse

from ..core.tokens import unsubscribe_token
from ..models import Contact
from ..models.channels import Channel

logger = logging.getLogger(__name__)
register = template.Library()

TEMPLATE = "omnichannel/preferences_link.html"


@register.simple_tag(takes_context=True)
def omnichannel_preferences(context):
    request = context.get("request")
    if request is None:
        return ""
    try:
        contact = customer_contact(request)
        if contact is None:
            return ""
        # The preference centre reads the contact from the token and ignores its channel.
        token = unsubscribe_token(contact, Channel.EMAIL)
        url = reverse("omnichannel:preferences", args=[token])
        return render_to_string(TEMPLATE, {"url": url}, request=request)
    except Exception:
        logger.exception("omnichannel: the preferences link failed; the page renders without it.")
    return ""


def customer_contact(request):
    """The contact of the logged-in user, or None (anonymous, or no contact yet)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return Contact.objects.filter(user_id=user.pk).only("uuid").first()
