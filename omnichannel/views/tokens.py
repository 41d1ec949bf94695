"""Reading the signed token of a customer-facing link."""

from django.core import signing
from django.shortcuts import render

from ..core.tokens import read_unsubscribe_token
from ..models import Contact
from ..models.channels import Channel


def contact_from_token(token):
    """``(contact, channel)`` for a valid token, or ``(None, None)``."""
    try:
        contact_hex, channel = read_unsubscribe_token(token)
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None, None
    if channel not in Channel.values:
        return None, None
    return Contact.objects.filter(uuid=contact_hex).first(), channel


def invalid_link(request, status=400):
    """A friendly page instead of an error: the link is old, cut, or edited."""
    return render(request, "omnichannel/invalid_link.html", status=status)
