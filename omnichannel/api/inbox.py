"""The on-site inbox over JSON: the visitor's messages, and marking them read.

    GET  inbox/                 {"count", "unread_count", "next", "previous", "results"}
    POST inbox/<id>/read/       the message, now read
    POST inbox/read/            {"marked": <how many were unread>}

A visitor the app does not know yet has an empty inbox, not an error. Titles and bodies
are plain text, possibly holding what a customer typed: escape them when you display
them (the ``{% omnichannel_inbox %}`` tag does).
"""

import uuid
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from ..models import DeliveryEvent, Message
from ..models.channels import Channel
from ..models.messages import DeliveryEventKind, MessageStatus
from . import VisitorAPIView, visitor_contact

# Statuses of a message that is in the inbox (an inbox message is delivered at once).
IN_INBOX = (MessageStatus.SENT, MessageStatus.DELIVERED)
# Link schemes an inbox item may carry: a link built from customer-typed values must not
# become "javascript:".
LINK_SCHEMES = {"", "http", "https"}


def inbox_messages(contact):
    """The inbox of ``contact``, newest first; empty for None."""
    if contact is None:
        return Message.objects.none()
    return Message.objects.filter(
        contact=contact, channel=Channel.INBOX, status__in=IN_INBOX
    ).order_by("-sent_at", "-pk")


def mark_read(messages):
    """Mark the unread ones among ``messages`` read, each with a ``read`` event; how many."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            messages.filter(read_at__isnull=True).select_for_update().values_list("pk", flat=True)
        )
        Message.objects.filter(pk__in=ids).update(read_at=now, updated_at=now)
        DeliveryEvent.objects.bulk_create(
            [
                DeliveryEvent(message_id=pk, kind=DeliveryEventKind.READ, occurred_at=now)
                for pk in ids
            ]
        )
    return len(ids)


def safe_link(url):
    """``url`` when it is relative or http(s), else ''."""
    url = str(url or "").strip()
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        return ""
    return url if scheme.lower() in LINK_SCHEMES else ""


class RenderedText(serializers.Field):
    """A part of the message as it was rendered (``Message.rendered[field name]``)."""

    def __init__(self, **kwargs):
        super().__init__(source="rendered", read_only=True, **kwargs)

    def to_representation(self, rendered):
        return str(rendered.get(self.field_name, ""))


class RenderedLink(RenderedText):
    def to_representation(self, rendered):
        return safe_link(super().to_representation(rendered))


class InboxMessageSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    title = RenderedText()
    body = RenderedText()
    url = RenderedLink()
    sent_at = serializers.DateTimeField(read_only=True)
    read_at = serializers.DateTimeField(read_only=True)


class InboxPagination(PageNumberPagination):
    """Pages of 20 (``?page_size=`` up to 100), with the unread count for a badge."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        self.unread_count = queryset.filter(read_at__isnull=True).count()
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.page.paginator.count,
                "unread_count": self.unread_count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )


class InboxListView(VisitorAPIView, ListAPIView):
    serializer_class = InboxMessageSerializer
    pagination_class = InboxPagination

    def get_queryset(self):
        return inbox_messages(visitor_contact(self.request))


class InboxReadView(VisitorAPIView):
    def post(self, request, message_id):
        try:
            messages = inbox_messages(visitor_contact(request)).filter(uuid=uuid.UUID(message_id))
        except ValueError:
            messages = Message.objects.none()
        mark_read(messages)
        message = messages.first()
        if message is None:
            raise NotFound(_("Your inbox has no message with this id."))
        return Response(InboxMessageSerializer(message).data)


class InboxReadAllView(VisitorAPIView):
    def post(self, request):
        return Response({"marked": mark_read(inbox_messages(visitor_contact(request)))})
