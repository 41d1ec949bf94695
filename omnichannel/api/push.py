"""Web push over JSON: the browser's subscription in and out, and its clicks.

    GET  push/subscribe/    {"public_key": "..."}, the applicationServerKey to subscribe with
    POST push/subscribe/    PushSubscription.toJSON()       201 stored, 200 updated
    POST push/unsubscribe/  {"endpoint": "..."}             204, or 404 when unknown
    POST push/clicked/      {"token": "..."} (service worker) 204

A subscription is stored by endpoint: the page can post ``toJSON()`` on every visit, and
the row follows the browser to the contact the session knows by then. Holding an
endpoint and its keys is what proves to be that browser, so unsubscribing needs the
endpoint and nothing else.
"""

import base64
from urllib.parse import urlsplit

from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from ..conf import omnichannel_settings
from ..core.tokens import read_push_click_token
from ..models import DeliveryEvent, Message, PushSubscription
from ..models.messages import DeliveryEventKind
from ..push.subscriptions import store_subscription
from . import VisitorAPIView, visitor_contact
from .fields import column_length

# The browsers' push services: FCM (Chrome, Edge, Opera, Samsung), Mozilla autopush
# (Firefox), Apple (Safari), WNS (legacy Edge). The worker POSTs to every stored
# endpoint, so an endpoint on any other host (the shop's own network, say) is refused.
PUSH_SERVICE_DOMAINS = (
    "fcm.googleapis.com",
    "android.googleapis.com",
    "push.services.mozilla.com",
    "push.apple.com",
    "notify.windows.com",
)


def decode_base64url(value):
    """The bytes of a base64url ``value`` (padding optional); b"" when it is not base64."""
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        return b""


def is_push_service(host):
    return any(host == domain or host.endswith("." + domain) for domain in PUSH_SERVICE_DOMAINS)


class SubscriptionKeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(max_length=column_length(PushSubscription, "p256dh"))
    auth = serializers.CharField(max_length=column_length(PushSubscription, "auth"))

    def validate_p256dh(self, value):
        raw = decode_base64url(value)
        # An uncompressed P-256 point: 0x04, then 32 bytes of x and 32 of y.
        if len(raw) != 65 or raw[0] != 4:
            raise serializers.ValidationError(
                _("Not a P-256 public key: send keys.p256dh as PushSubscription.toJSON() gives it.")
            )
        return value

    def validate_auth(self, value):
        if len(decode_base64url(value)) != 16:
            raise serializers.ValidationError(
                _("Not a 16-byte secret: send keys.auth as PushSubscription.toJSON() gives it.")
            )
        return value


class PushSubscriptionSerializer(serializers.Serializer):
    """``PushSubscription.toJSON()``: endpoint and keys (``expirationTime`` is ignored)."""

    endpoint = serializers.URLField(max_length=column_length(PushSubscription, "endpoint"))
    keys = SubscriptionKeysSerializer()

    def validate_endpoint(self, value):
        parts = urlsplit(value)
        if parts.scheme != "https" or not is_push_service(parts.hostname or ""):
            raise serializers.ValidationError(
                _(
                    "Not a browser push service endpoint (https on %(domains)s): send "
                    "PushSubscription.toJSON().endpoint unchanged."
                )
                % {"domains": ", ".join(PUSH_SERVICE_DOMAINS)}
            )
        return value


class EndpointSerializer(serializers.Serializer):
    endpoint = serializers.URLField(max_length=column_length(PushSubscription, "endpoint"))


class ClickSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200)

    def validate_token(self, value):
        """The clicked message's UUID, from the token its notification carried."""
        try:
            return read_push_click_token(value)
        except signing.BadSignature as exc:
            raise serializers.ValidationError(
                _("Invalid or expired token: post the token from the notification's data.")
            ) from exc


class PushSubscribeView(VisitorAPIView):
    def get(self, request):
        key = omnichannel_settings.VAPID_PUBLIC_KEY
        if not key:
            raise NotFound(
                _("Web push is not set up: %(setting)s is empty.")
                % {"setting": 'OMNICHANNEL["VAPID_PUBLIC_KEY"]'}
            )
        return Response({"public_key": key})

    def post(self, request):
        serializer = PushSubscriptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription, created = store_subscription(
            visitor_contact(request), serializer.validated_data, request
        )
        return Response(
            {
                "endpoint": subscription.endpoint,
                "contact_known": subscription.contact_id is not None,
            },
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class PushUnsubscribeView(VisitorAPIView):
    def post(self, request):
        serializer = EndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        deleted, _rows = PushSubscription.objects.filter(
            endpoint=serializer.validated_data["endpoint"]
        ).delete()
        if not deleted:
            raise NotFound(_("No subscription has this endpoint: it is already removed."))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PushClickedView(VisitorAPIView):
    """The service worker reports a click on a notification.

    A service worker can read neither the page's cookies nor its CSRF token, so this
    endpoint uses no session at all (and so needs no CSRF protection): the signed token
    from the notification is the credential. It names one message and cannot be forged,
    and a message records one ``clicked`` event however often it is clicked.
    """

    authentication_classes = []

    def post(self, request):
        serializer = ClickSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = Message.objects.filter(uuid=serializer.validated_data["token"]).first()
        if message is None:
            raise NotFound(_("The message of this notification no longer exists."))
        DeliveryEvent.objects.get_or_create(
            provider_event_id=f"push-click:{message.uuid}",
            defaults={
                "message": message,
                "kind": DeliveryEventKind.CLICKED,
                "occurred_at": timezone.now(),
            },
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
