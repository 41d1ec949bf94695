"""The webhook sweeper: claim due deliveries, POST them signed, record what came back.

A sweep claims due deliveries in batches (``omnichannel.core.claims``: ``SKIP LOCKED``,
under a lease that the sweep renews while it waits), posts them and writes each answer as
it arrives. Delivery is at least once: a worker that dies mid-POST leaves its rows leased;
once the lease lapses another sweep posts them again, with the same event id, which the
receiver uses to drop the repeat.

One endpoint never holds up another:

* the endpoints of a batch are posted to in parallel threads (``WEBHOOK_CONCURRENCY``);
  the threads only speak HTTP, every database write is the sweeping thread's;
* every POST has a timeout (``WEBHOOK_TIMEOUT_SECONDS``, for connecting and for reading);
* an endpoint that fails holds back its other due deliveries until the failed one's
  retry time, without spending their attempts, so a dead endpoint costs one timeout per
  retry period rather than one per delivery;
* after ``WEBHOOK_DISABLE_AFTER_FAILURES`` failed attempts in a row the endpoint is
  disabled; its deliveries wait (pending) until staff enable it again.

A 2xx answer delivers; anything else, a redirect included (the signed body is not meant
for another URL), a timeout or a refused connection is retried with exponential backoff and
jitter, honouring ``Retry-After``, until ``WEBHOOK_MAX_ATTEMPTS`` attempts have failed.
"""

import json
import logging
import queue
import random
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F, Q
from django.utils import timezone

from ..conf import omnichannel_settings
from ..core import claims
from ..core.batches import Report, run_batches
from ..core.db import update_rows
from ..models import WebhookDelivery, WebhookEndpoint
from ..models.webhooks import DeliveryStatus
from ..outbox.dispatch import worker_id
from .signing import SIGNATURE_HEADER, signature_header

logger = logging.getLogger(__name__)

#: Characters of an endpoint's answer kept on the delivery, for staff to read.
RESPONSE_EXCERPT = 1000
USER_AGENT = "omnichannel-webhooks"


@dataclass
class SweepReport(Report):
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    held_back: int = 0
    disabled: int = 0
    batches: int = 0


@dataclass
class Answer:
    """What one POST came back with: a status code and body, or an error."""

    status_code: int | None = None
    body: str = ""
    error: str = ""
    retry_after: float | None = None

    @property
    def ok(self):
        return self.status_code is not None and 200 <= self.status_code < 300


# A delivery the endpoint's thread did not post: its endpoint failed earlier in the batch,
# or the batch ran out of time.
HELD_BACK = object()


# --- what is posted -------------------------------------------------------------------


def body_of(delivery):
    return json.dumps(delivery.payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def signing_secrets(endpoint, now):
    """The endpoint's secret, and the previous one while its rotation lasts."""
    secrets = [endpoint.secret]
    rotating = endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now
    if endpoint.previous_secret and rotating:
        secrets.append(endpoint.previous_secret)
    return secrets


def headers_for(delivery, body, now):
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Omnichannel-Event-Id": str(delivery.event_id),
        "Omnichannel-Event-Type": delivery.event_type,
        "Omnichannel-Delivery-Attempt": str(delivery.attempts + 1),
        SIGNATURE_HEADER: signature_header(
            body, signing_secrets(delivery.endpoint, now), now.timestamp()
        ),
    }


def post(url, body, headers, timeout):
    """POST once; never raises. Only the first ``RESPONSE_EXCERPT`` characters are read."""
    try:
        with requests.post(
            url,
            data=body,
            headers=headers,
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
        ) as response:
            excerpt = response.raw.read(RESPONSE_EXCERPT * 4, decode_content=True) or b""
            return Answer(
                status_code=response.status_code,
                body=excerpt.decode("utf-8", "replace")[:RESPONSE_EXCERPT],
                retry_after=retry_after(response.headers.get("Retry-After")),
            )
    except requests.Timeout:
        return Answer(error=f"No answer within {timeout} s.")
    except requests.RequestException as exc:
        return Answer(error=f"{type(exc).__name__}: {exc}"[:RESPONSE_EXCERPT])


def retry_after(value):
    """Seconds from a ``Retry-After`` header given in seconds; None otherwise."""
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None


# --- when to try again ------------------------------------------------------------------


def backoff(attempts, answer=None):
    """The wait before attempt ``attempts + 1``: exponential, capped, with jitter.

    The jitter keeps at least half of the delay ("equal jitter"), so a retry always backs
    off, while failures of many deliveries at once spread out. A ``Retry-After`` the
    endpoint sent is waited for at least (up to the cap).
    """
    cap = omnichannel_settings.WEBHOOK_BACKOFF_MAX_SECONDS
    delay = min(cap, omnichannel_settings.WEBHOOK_BACKOFF_SECONDS * 2 ** max(0, attempts - 1))
    delay = random.uniform(delay / 2, delay)
    if answer is not None and answer.retry_after is not None:
        delay = max(delay, min(cap, answer.retry_after))
    return timedelta(seconds=delay)


def describe(answer):
    if answer.error:
        return answer.error
    return f"HTTP {answer.status_code}"


# --- the sweep --------------------------------------------------------------------------


def lease_seconds():
    return omnichannel_settings.WEBHOOK_LEASE_SECONDS


def due(now):
    """Pending rows whose time came, and rows whose worker's lease ran out."""
    return WebhookDelivery.objects.filter(
        Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        | Q(status=DeliveryStatus.DELIVERING, locked_until__lt=now),
        endpoint__is_active=True,
    )


def claim(owner, now):
    return claims.claim(
        due(now),
        limit=omnichannel_settings.WEBHOOK_BATCH_SIZE,
        order_by=("next_attempt_at", "pk"),
        mark={
            "status": DeliveryStatus.DELIVERING,
            "locked_by": owner,
            "locked_until": now + timedelta(seconds=lease_seconds()),
        },
    )


def sweep():
    """Deliver what is due, batch after batch, within ``WEBHOOK_TIME_BUDGET_SECONDS``."""
    owner = worker_id()
    return run_batches(
        lambda: run_batch(owner),
        SweepReport(),
        size_of=lambda report: report.claimed,
        time_budget=omnichannel_settings.WEBHOOK_TIME_BUDGET_SECONDS,
        batch_size=omnichannel_settings.WEBHOOK_BATCH_SIZE,
    )


def run_batch(owner):
    report = SweepReport(batches=1)
    now = timezone.now()
    ids = claim(owner, now)
    report.claimed = len(ids)
    if not ids:
        return report
    by_endpoint = {}
    claimed = WebhookDelivery.objects.filter(pk__in=ids).order_by("next_attempt_at", "pk")
    for delivery in claimed.select_related("endpoint"):
        by_endpoint.setdefault(delivery.endpoint_id, []).append(delivery)
    lease = claims.Lease(
        WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERING), owner, lease_seconds()
    )
    recorder = Recorder(owner, report)
    try:
        for delivery, answer in post_in_parallel(list(by_endpoint.values()), lease):
            recorder.record(delivery, answer)
    finally:
        recorder.flush()
    return report


def post_in_parallel(groups, lease):
    """Yield ``(delivery, answer or HELD_BACK)`` as the endpoints answer.

    One thread per endpoint at a time, at most ``WEBHOOK_CONCURRENCY``; this thread renews
    the lease while it waits, and does every database write the caller makes.
    """
    timeout = omnichannel_settings.WEBHOOK_TIMEOUT_SECONDS
    stop_at = time.monotonic() + omnichannel_settings.WEBHOOK_TIME_BUDGET_SECONDS
    answers, pending = queue.Queue(), list(groups)
    running = 0
    done = object()

    def post_group(deliveries):
        try:
            failed = False
            for delivery in deliveries:
                if failed or time.monotonic() >= stop_at:
                    answers.put((delivery, HELD_BACK))
                    continue
                now = timezone.now()
                body = body_of(delivery)
                answer = post(
                    delivery.endpoint.url, body, headers_for(delivery, body, now), timeout
                )
                answers.put((delivery, answer))
                failed = not answer.ok
        except Exception:  # a bug here leaves the rest leased: they are retried after it
            logger.exception("omnichannel: posting webhooks to %s failed", deliveries[0].endpoint)
        finally:
            answers.put((done, None))

    def start_next():
        nonlocal running
        deliveries = pending.pop(0)
        threading.Thread(target=post_group, args=(deliveries,), daemon=True).start()
        running += 1

    while pending and running < omnichannel_settings.WEBHOOK_CONCURRENCY:
        start_next()
    while running:
        try:
            item, answer = answers.get(timeout=max(1.0, lease.duration.total_seconds() / 3))
        except queue.Empty:
            lease.renew_if_due()
            continue
        if item is done:
            running -= 1
            if pending:
                start_next()
            continue
        lease.renew_if_due()
        yield item, answer


# Accepted deliveries are written together, every so many or so often: one statement
# instead of one commit each. Until then they stay leased, so a crash posts them again.
FLUSH_EVERY = 50
FLUSH_SECONDS = 0.5
DELIVERED_FIELDS = (
    "status", "attempts", "last_attempt_at", "delivered_at", "last_status_code",
    "last_response", "last_error", "locked_by", "locked_until",
)  # fmt: skip


class Recorder:
    """Writes each answer to its delivery and endpoint, fenced by the lease's owner."""

    def __init__(self, owner, report):
        self.owner, self.report = owner, report
        # endpoint id -> when it may be tried again, once one of its posts failed.
        self.retry_at = {}
        self.accepted, self.flushed_at = [], time.monotonic()
        self.recovered = set()  # endpoints whose failure count this batch set back to 0

    def ours(self, delivery):
        return WebhookDelivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.DELIVERING, locked_by=self.owner
        )

    def record(self, delivery, answer):
        if answer is HELD_BACK:
            self.hold_back(delivery)
        elif answer.ok:
            self.delivered(delivery, answer)
        else:
            self.failed(delivery, answer)

    def hold_back(self, delivery):
        """Back to pending with its attempt unspent; after its endpoint's retry if it failed
        (its thread reports the failure before the deliveries it held back)."""
        self.report.held_back += 1
        retry_at = self.retry_at.get(delivery.endpoint_id, delivery.next_attempt_at)
        self.ours(delivery).update(
            status=DeliveryStatus.PENDING,
            locked_by="",
            locked_until=None,
            next_attempt_at=max(retry_at, delivery.next_attempt_at),
        )

    def delivered(self, delivery, answer):
        now = timezone.now()
        delivery.status, delivery.attempts = DeliveryStatus.DELIVERED, delivery.attempts + 1
        delivery.last_attempt_at = delivery.delivered_at = now
        delivery.last_status_code, delivery.last_response = answer.status_code, answer.body
        delivery.last_error, delivery.locked_by, delivery.locked_until = "", "", None
        self.accepted.append(delivery)
        self.report.delivered += 1
        endpoint = delivery.endpoint
        if endpoint.consecutive_failures and endpoint.pk not in self.recovered:
            self.recovered.add(endpoint.pk)
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
        if len(self.accepted) >= FLUSH_EVERY or time.monotonic() - self.flushed_at >= FLUSH_SECONDS:
            self.flush()

    def flush(self):
        update_rows(
            self.accepted,
            DELIVERED_FIELDS,
            where="status = %s AND locked_by = %s",
            where_params=[DeliveryStatus.DELIVERING, self.owner],
        )
        self.accepted, self.flushed_at = [], time.monotonic()

    def failed(self, delivery, answer):
        now = timezone.now()
        attempts = delivery.attempts + 1
        give_up = attempts >= omnichannel_settings.WEBHOOK_MAX_ATTEMPTS
        retry_at = now + backoff(attempts, answer)
        written = self.ours(delivery).update(
            status=DeliveryStatus.FAILED if give_up else DeliveryStatus.PENDING,
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            next_attempt_at=delivery.next_attempt_at if give_up else retry_at,
            last_status_code=answer.status_code,
            last_response=answer.body,
            last_error=describe(answer),
            locked_by="",
            locked_until=None,
        )
        if not written:
            return  # taken over or cancelled meanwhile: the new owner records its own
        if give_up:
            self.report.failed += 1
        else:
            self.report.retried += 1
        self.hold_endpoint_back(delivery.endpoint_id, retry_at)
        self.count_failure(delivery.endpoint, answer, now)

    def hold_endpoint_back(self, endpoint_id, retry_at):
        """The endpoint's other pending deliveries wait for its retry, attempts unspent."""
        self.retry_at[endpoint_id] = retry_at
        WebhookDelivery.objects.filter(
            endpoint_id=endpoint_id, status=DeliveryStatus.PENDING, next_attempt_at__lt=retry_at
        ).update(next_attempt_at=retry_at)

    def count_failure(self, endpoint, answer, now):
        endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
        endpoints.update(consecutive_failures=F("consecutive_failures") + 1)
        limit = omnichannel_settings.WEBHOOK_DISABLE_AFTER_FAILURES
        disabled = endpoints.filter(is_active=True, consecutive_failures__gte=limit).update(
            is_active=False,
            disabled_at=now,
            disabled_reason=f"{limit} failed attempts in a row; the last: {describe(answer)}"[:300],
        )
        if disabled:
            self.report.disabled += 1
            logger.warning("omnichannel: webhook endpoint %s disabled after %s failures",
                           endpoint.url, limit)  # fmt: skip
