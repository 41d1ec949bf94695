"""Web push through pywebpush, signed with the shop's VAPID key.

A message goes to every browser the contact subscribed from (``PushSubscription``). Each
push service answers for its browser:

* 201: accepted;
* 404 or 410: the browser dropped the subscription, so it is deleted;
* 429 or 5xx (or no answer): the service is busy, worth retrying after ``Retry-After``;
* any other 4xx: this subscription refuses us (403: it was made with another VAPID key).

The message is sent when at least one browser accepted it; the others' failures are kept
in the ``sent`` event's raw data rather than retried, because a retry would notify the
accepting browsers twice. Only when no browser accepted does the message retry (some
service was busy) or fail (every subscription is gone or refused).
"""

import json
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from functools import cached_property

import requests
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from ..conf import omnichannel_settings
from ..core.links import absolute_url
from ..core.tokens import push_click_token
from ..exceptions import PermanentSendError, TransientSendError
from ..models import PushSubscription
from ..push.vapid import load_vapid
from .base import BaseChannelBackend, SendResult, SharedConnection

try:
    from pywebpush import WebPushException, webpush
except ImportError as exc:
    raise ImportError(
        "The web push backend needs pywebpush: pip install django-omnichannel[webpush]"
    ) from exc

# Push services refuse request bodies over 4096 bytes. aes128gcm adds 103 bytes to the
# JSON: an 86-byte header (salt, record size, sender key), a padding delimiter and a
# 16-byte authentication tag.
MAX_PAYLOAD_BYTES = 4096 - 103
# Without a timeout, requests (and so pywebpush) waits for a silent server forever.
TIMEOUT_SECONDS = 10

ACCEPTED, GONE, RETRY, REFUSED = "accepted", "gone", "retry", "refused"


@dataclass
class Delivery:
    """What one browser's push service answered."""

    subscription: PushSubscription
    outcome: str
    status: int | None = None
    detail: str = ""
    retry_after: float | None = None
    location: str = ""

    def as_raw(self):
        return {
            "subscription": self.subscription.pk,
            "outcome": self.outcome,
            "status": self.status,
            "detail": self.detail,
        }


class WebPushBackend(BaseChannelBackend):
    channel = "push"
    provider = "webpush"
    request_timeout = TIMEOUT_SECONDS

    def batch_session(self):
        # Most browsers subscribe through a handful of push services (FCM, Mozilla,
        # Apple): one requests.Session keeps one connection open to each for the batch.
        return self.connections.scope()

    @cached_property
    def connections(self):
        return SharedConnection(requests.Session, lambda session: session.close())

    def call_timeout(self, message):
        """One request per browser of the contact, one after another."""
        return TIMEOUT_SECONDS * max(1, len(message.contact.push_subscriptions.all()))

    def address(self, message):
        """The contact's UUID when they have a subscription, else None.

        The dispatcher stores the address in ``Message.to`` and looks it up in the
        suppression list, so it must be short and stable while browsers come and go.
        """
        contact = message.contact
        return str(contact.uuid) if contact.push_subscriptions.all() else None

    def build_payload(self, message, rendered):
        """The notification as JSON bytes, read by the service worker (``sw.js``)."""
        title = str(rendered.get("title", "")).strip()
        if not title:
            raise PermanentSendError(
                'The push content has no title: give the message a "title".',
                provider=self.provider,
            )
        icon = rendered.get("icon")
        notification = {
            "title": title,
            "body": str(rendered.get("body", "")),
            "icon": absolute_url(icon) if icon else "",
            "url": absolute_url(rendered.get("url") or "/"),
            "message": str(message.uuid),
            "token": push_click_token(message),
        }
        data = json.dumps(notification, ensure_ascii=False, separators=(",", ":")).encode()
        if len(data) > MAX_PAYLOAD_BYTES:
            raise PermanentSendError(
                f"The notification is {len(data)} bytes of JSON; push services take at most "
                f"{MAX_PAYLOAD_BYTES}. Shorten its title, body or links.",
                provider=self.provider,
            )
        return data

    def call_provider(self, data, message):
        """Push to every subscription of the contact; returns their ``Delivery`` list."""
        vapid = self.vapid
        ttl = ttl_seconds(message, timezone.now())
        with self.connections.use() as session:
            deliveries = [
                self._push(subscription, data, vapid, ttl, session)
                for subscription in message.contact.push_subscriptions.all()
            ]
        gone = [d.subscription.pk for d in deliveries if d.outcome == GONE]
        if gone:
            PushSubscription.objects.filter(pk__in=gone).delete()
        if any(d.outcome == ACCEPTED for d in deliveries):
            return deliveries
        raise delivery_error(deliveries, self.provider)

    def parse_response(self, deliveries, message):
        location = next((d.location for d in deliveries if d.outcome == ACCEPTED), "")
        return SendResult(
            provider_message_id=location[:128],
            raw={"browsers": [d.as_raw() for d in deliveries]},
        )

    @cached_property
    def vapid(self):
        try:
            return load_vapid()
        except ImproperlyConfigured as exc:
            raise PermanentSendError(str(exc), provider=self.provider) from exc

    def _push(self, subscription, data, vapid, ttl, session):
        try:
            response = webpush(
                subscription.as_subscription_info(),
                data=data,
                vapid_private_key=vapid,
                # A fresh dict each time: pywebpush writes the endpoint's origin into it.
                vapid_claims={"sub": omnichannel_settings.VAPID_SUBJECT},
                ttl=ttl,
                timeout=TIMEOUT_SECONDS,
                requests_session=session,
            )
        except WebPushException as exc:
            if exc.response is None:  # refused before sending: the stored keys are unusable
                return Delivery(subscription, REFUSED, detail=exc.message)
            return answered(subscription, exc.response)
        except requests.RequestException as exc:
            return Delivery(subscription, RETRY, detail=str(exc))
        return Delivery(
            subscription,
            ACCEPTED,
            status=response.status_code,
            location=response.headers.get("Location", ""),
        )


def answered(subscription, response):
    """The ``Delivery`` for a push service's error answer."""
    status = response.status_code
    detail = f"{response.reason} {response.text[:200]}".strip()
    if status in (404, 410):
        return Delivery(subscription, GONE, status=status, detail=detail)
    if status == 429 or status >= 500:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        return Delivery(subscription, RETRY, status=status, detail=detail, retry_after=retry_after)
    return Delivery(subscription, REFUSED, status=status, detail=detail)


def delivery_error(deliveries, provider):
    """The error for a message no browser accepted: transient if any service was busy."""
    retries = [d for d in deliveries if d.outcome == RETRY]
    if retries:
        waits = [d.retry_after for d in retries if d.retry_after is not None]
        return TransientSendError(
            f"{len(retries)} push service(s) busy or unreachable: {retries[0].detail}",
            provider=provider,
            status_code=retries[0].status,
            retry_after=max(waits, default=None),
        )
    refused = [d for d in deliveries if d.outcome == REFUSED]
    if refused:
        return PermanentSendError(
            f"{len(refused)} browser subscription(s) refused the push: {refused[0].detail}",
            provider=provider,
            status_code=refused[0].status,
        )
    return PermanentSendError(
        "Every browser of this contact has unsubscribed (404/410); "
        "their subscriptions were deleted.",
        provider=provider,
    )


def ttl_seconds(message, now):
    """``PUSH_TTL``, cut short so that a notification never outlives its message."""
    ttl = omnichannel_settings.PUSH_TTL
    if message.expires_at is not None:
        ttl = min(ttl, int((message.expires_at - now).total_seconds()))
    return max(ttl, 0)


def retry_after_seconds(value):
    """Seconds to wait from a ``Retry-After`` header (delay or HTTP date), or None."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - timezone.now()).total_seconds(), 0.0)
