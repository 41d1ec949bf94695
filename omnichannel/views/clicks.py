"""The click redirect of flow message links: record the click, then go to the target.

The target comes only from the signed token (see ``omnichannel.outbox.link_tracking``), so the
redirect goes to exactly the URL the message carried and nowhere a visitor could choose.
A click is recorded once per message and URL however often it is followed (a person
coming back to a mail, a link scanner fetching it first). The view reads no session and
logs nobody in: a forwarded mail must not open anyone's account. A bad, cut or expired
link gets a friendly page leading to the shop, never an error.
"""

import hashlib
import logging
import uuid

from django.core import signing
from django.db import DatabaseError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..core.tokens import read_click_token
from ..integrations.adapter import get_adapter
from ..models import DeliveryEvent, Message
from ..models.messages import DeliveryEventKind

logger = logging.getLogger(__name__)


def click_event_id(message_uuid, url):
    """The dedupe key of a click: one event per message and target URL."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return f"click:{message_uuid}:{digest}"


def record_click(message_uuid, url):
    message_id = Message.objects.filter(uuid=message_uuid).values_list("pk", flat=True).first()
    if message_id is None:
        return  # the message was deleted since; the link still leads where it promised
    DeliveryEvent.objects.get_or_create(
        provider_event_id=click_event_id(message_uuid, url),
        defaults={
            "message_id": message_id,
            "kind": DeliveryEventKind.CLICKED,
            "detail": url,
            "occurred_at": timezone.now(),
        },
    )


def broken_link(request):
    try:
        shop = get_adapter().get_shop_context()
    except Exception:  # a broken adapter must not turn a friendly page into an error
        logger.exception("omnichannel: the shop adapter failed on the broken-link page")
        shop = {}
    context = {"shop": shop, "shop_url": shop.get("url") or "/"}
    return render(request, "omnichannel/click_link.html", context, status=400)


@never_cache
@require_GET
def click(request, token):
    try:
        message_hex, url = read_click_token(token)
        message_uuid = uuid.UUID(message_hex)
    except (signing.BadSignature, TypeError, ValueError):
        return broken_link(request)
    if not url.startswith(("http://", "https://")):
        return broken_link(request)  # only http(s) targets are ever signed
    try:
        record_click(message_uuid, url)
    except DatabaseError:  # losing one click is better than stranding the customer
        logger.exception("omnichannel: recording a click on message %s failed", message_uuid)
    return HttpResponseRedirect(url)
