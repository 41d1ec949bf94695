"""Unsubscribing: RFC 8058 one-click, and the page a person lands on.

The one-click POST comes from the mailbox provider, not from a browser: no cookies, no
login, no CSRF token, only the signed opaque token in the URL. A GET never unsubscribes
(link scanners fetch every URL in a mail); it shows a page whose button POSTs.
"""

from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ..contacts.consent import withdraw_consent
from ..models.consent import Purpose
from ..outbox.queueing import cancel_pending
from .tokens import contact_from_token, invalid_link


def unsubscribe_contact(contact, channel, request, source):
    """Withdraw marketing consent on ``channel`` and cancel what is waiting to go."""
    withdraw_consent(contact, channel, source=source, wording="Unsubscribe link", request=request)
    return cancel_pending(
        contact=contact,
        channel=channel,
        reason=f"the contact unsubscribed ({source})",
        extra=Q(purpose=Purpose.MARKETING),
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    contact, channel = contact_from_token(token)
    if contact is None:
        return invalid_link(request)
    one_click = request.POST.get("List-Unsubscribe") == "One-Click"
    if request.method == "POST":
        unsubscribe_contact(contact, channel, request, "one-click" if one_click else "link")
        if one_click:
            return HttpResponse("Unsubscribed.", content_type="text/plain")
    context = {
        "contact": contact,
        "channel": channel,
        "done": request.method == "POST",
        "token": token,
    }
    return render(request, "omnichannel/unsubscribe.html", context)
