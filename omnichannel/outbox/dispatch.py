"""Claim, decide, render, send, record: the outbox dispatcher.

A sweep claims due messages in batches with ``SELECT ... FOR UPDATE SKIP LOCKED`` and
leases them to this worker (``omnichannel.core.claims``). For each batch it reads the policy
facts once, decides every message, writes the waits and cancellations, then sends the rest
one message at a time. Right before each provider call the message is *handed over* with
one conditional UPDATE, in its own transaction, that is also the last check: it only
succeeds while the row is still ours and still sending, no order has been placed since the
enrollment began, consent is still given and the address is not suppressed. An order, a
STOP or an erasure that lands while the batch is out therefore stops every message not yet
handed over; at most the one message already with the provider goes. The hand-over's
statement never changes its text (on PostgreSQL a prepared statement), and it also
marks the message sent just before as sent, so a worker that dies leaves at most one
message whose outcome is unknown. The rest of the results (provider details, events,
costs) are written in bulk at the end of the batch and at every lease renewal.

The lease is renewed while the batch is worked on, so a slow provider or a loaded machine
does not let it lapse; a worker that lost it anyway (another sweeper took its rows over)
finds the hand-over refused and stops the batch.

What a crash leaves behind:

* a claimed message not yet handed over goes back to the queue when its lease expires;
* a message handed over and marked sent by the next hand-over, its details not written yet,
  is recorded as sent by the recovery, with no lookup;
* a message handed over but not marked (the worker died between the provider call and
  the next hand-over, the one window no database can close) is *uncertain*. It is left
  alone until its in-flight window has closed (hand-over + the backend's request timeout +
  ``DISPATCH_IN_FLIGHT_GRACE_SECONDS``), whatever its lease says, so a request still on its
  way is never looked up before it lands. Then the backend is asked whether the provider
  has it (``lookup``); if it cannot tell, the message is failed with a clear reason for
  staff to check and requeue.
"""

import contextlib
import functools
import logging
import os
import random
import socket
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connections, router, transaction
from django.db.models import Q, prefetch_related_objects
from django.utils import timezone

from .. import signals
from ..channels import enabled_channels, get_backend
from ..channels.sms_segments import segments
from ..conf import omnichannel_settings
from ..contacts.consent import suppress
from ..core import claims
from ..core.batches import Report, run_batches
from ..core.db import execute_prepared, insert_objects, update_rows
from ..exceptions import (
    ChannelNotConfigured,
    PermanentSendError,
    TransientSendError,
    UncertainSendError,
)
from ..models import ChannelCost, DeliveryEvent, Message
from ..models.channels import Channel
from ..models.messages import DeliveryEventKind, MessageStatus
from . import pacing as throttle
from . import policy
from .blocks import one_brand
from .rendering import render_message
from .status import KEEP_PROVIDER_REPORTS

logger = logging.getLogger(__name__)

UNCERTAIN_REASON = (
    "Outcome unknown: the worker stopped while this message was with the provider. "
    "Check the provider's log before requeueing it."
)


def worker_id():
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class SweepReport(Report):
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    cancelled: int = 0
    failed: int = 0
    retried: int = 0
    requeued: int = 0
    uncertain: int = 0
    batches: int = 0


# --- claiming ----------------------------------------------------------------------------


def lease_seconds():
    return omnichannel_settings.DISPATCH_LEASE_SECONDS


def claim(owner, limit, now):
    """Lease up to ``limit`` due messages to ``owner``; returns their ids."""
    return claims.claim(
        Message.objects.filter(status=MessageStatus.QUEUED, scheduled_at__lte=now),
        limit=limit,
        order_by=("-priority", "scheduled_at"),
        mark={
            "status": MessageStatus.SENDING,
            "locked_until": now + timedelta(seconds=lease_seconds()),
            "locked_by": owner,
        },
    )


def batch_lease(owner):
    """The lease on the messages ``owner`` claimed and has not settled yet."""
    return claims.Lease(
        Message.objects.filter(status=MessageStatus.SENDING), owner, lease_seconds()
    )


def in_flight_window(backend, message=None):
    """How long after its hand-over a message may still be on its way to the provider."""
    call = backend.request_timeout if message is None else backend.call_timeout(message)
    return timedelta(seconds=call + omnichannel_settings.DISPATCH_IN_FLIGHT_GRACE_SECONDS)


# Why a hand-over was refused: the row stopped being ours (another sweeper took it over
# after our lease ran out, or staff cancelled it) -- the batch stops there.
LOST = "lost"


def hand_over(cursor, message, owner, backend, sent=None):
    """Mark ``message`` as going to the provider now; the last check before the call.

    One conditional UPDATE (``hand_over_sql``), in its own transaction: it succeeds only
    while the row is still ours and sending and nothing that must stop it has happened
    since the batch was decided (``policy.last_checks``). The attempt is counted and the
    in-flight window opened before the call, so a crash leaves an accurate record to
    reconcile from. The same round trip marks ``sent``, the message sent just before, as
    sent (its send time and provider id; the rest of its result is written with the
    batch's), so a worker killed at any point leaves at most one message whose outcome is
    unknown. Returns None when ``message`` may go, ``LOST`` when it is not ours any more,
    else the reason it must not go.
    """
    connection = cursor.db
    now = timezone.now()
    params = {
        "now": now,
        "to": message.to,
        "id": message.pk,
        "owner": owner,
        "sending": MessageStatus.SENDING,
        # A send that may take longer than one request keeps its lease until its own
        # in-flight window closes (recovery only looks at the backend's request timeout).
        "until": now + in_flight_window(backend, message),
        "sent": sent.pk if sent else None,
        "sent_at": sent.sent_at if sent else None,
        "provider_message_id": sent.provider_message_id if sent else "",
    }
    for name in ("now", "until", "sent_at"):
        params[name] = connection.ops.adapt_datetimefield_value(params[name])
    for sql in hand_over_sql(connection.vendor, policy.CheckShape.of(message)):
        handed = execute_prepared(connection, sql, params)
    if handed:
        message.attempts += 1
        message.handed_at = now
        return None
    cursor.execute(f"SELECT 1 FROM {Message._meta.db_table} m WHERE {OURS}", params)
    if cursor.fetchone() is None:
        return LOST
    return policy.why_not_sendable(cursor, message, params)


def _column(name):
    return f'"{Message._meta.get_field(name).column}"'


OURS = (
    f"m.{_column('id')} = %(id)s AND m.{_column('status')} = %(sending)s "
    f"AND m.{_column('locked_by')} = %(owner)s"
)


@functools.cache
def hand_over_sql(vendor, shape):
    """The hand-over's statements for messages of ``shape`` (``policy.CheckShape``): their
    text is fixed per shape, so psycopg prepares each once per connection and PostgreSQL
    settles on one plan of index probes. The first marks ``%(sent)s``, the previous
    message, as sent while still ours; the second hands ``%(id)s`` over if every last
    check holds and returns its id. On PostgreSQL the two are one statement (the marking
    as a data-modifying WITH), one round trip; SQLite runs them one after the other (a
    crash between them leaves the previous message marked and this one not handed over,
    which is what a crash before the hand-over leaves anyway).
    """
    table = Message._meta.db_table
    mark_sent = (
        f"UPDATE {table} SET {_column('sent_at')} = %(sent_at)s, "
        f"{_column('provider_message_id')} = %(provider_message_id)s "
        f"WHERE {_column('id')} = %(sent)s AND {_column('status')} = %(sending)s "
        f"AND {_column('locked_by')} = %(owner)s"
    )
    checks = " AND ".join(f"({condition})" for condition, _reason in policy.last_checks(shape))
    locked_until = _column("locked_until")
    hand = (
        f"UPDATE {table} AS m SET {_column('attempts')} = m.{_column('attempts')} + 1, "
        f"{_column('handed_at')} = %(now)s, {_column('to')} = %(to)s, "
        # The lease only ever grows, and rarely: the indexed column mostly stays as it is.
        f"{locked_until} = CASE WHEN m.{locked_until} < %(until)s THEN %(until)s "
        f"ELSE m.{locked_until} END "
        f"WHERE {OURS} AND {checks} RETURNING {_column('id')}"
    )
    if vendor == "postgresql":
        return (f"WITH sent AS ({mark_sent}) {hand}",)
    return (mark_sent, hand)


def recover_expired_leases(owner, now):
    """Take over what dead workers held: requeue the untouched, reconcile the rest."""
    report = SweepReport()
    ids = claim_expired(owner, now)
    if not ids:
        return report
    outcomes = Outcomes(now, owner)
    stale = timedelta(seconds=omnichannel_settings.RECONCILE_GIVE_UP_SECONDS)
    for message in Message.objects.filter(pk__in=ids).select_related("contact"):
        if message.handed_at is None:
            outcomes.requeue(message)
        elif message.sent_at is not None:
            # Its hand-over's successor marked it sent: only the details went unrecorded.
            outcomes.mark_sent(message, get_backend(message.channel))
        else:
            reconcile(message, outcomes, give_up=message.handed_at < now - stale)
    outcomes.write()
    report.add(tally(outcomes))
    return report


def claim_expired(owner, now):
    """Lease to ``owner`` the messages whose worker is gone; returns their ids.

    A message whose lease ran out is taken over; one handed to the provider only once its
    in-flight window has closed as well, whatever its lease says: until then its request
    may still be on its way, and a lookup would not find it yet. A sending row without a
    lease (which no code should leave) is taken over too rather than left for ever.
    """
    closed = Q(handed_at__isnull=True)
    for channel in enabled_channels():
        try:
            window = in_flight_window(get_backend(channel))
        except ChannelNotConfigured:
            continue
        closed |= Q(channel=channel, handed_at__lt=now - window)
    expired = Q(locked_until__lt=now) | Q(locked_until__isnull=True)
    return claims.claim(
        Message.objects.filter(expired, closed, status=MessageStatus.SENDING),
        limit=omnichannel_settings.DISPATCH_BATCH_SIZE,
        order_by=("pk",),
        mark={"locked_by": owner, "locked_until": now + timedelta(seconds=lease_seconds())},
    )


def reconcile(message, outcomes, give_up):
    """Settle a message that may have reached the provider before its worker died."""
    try:
        backend = get_backend(message.channel)
    except ChannelNotConfigured as exc:
        outcomes.fail(message, str(exc))
        return
    if not backend.supports_lookup:
        outcomes.fail(message, UNCERTAIN_REASON)
        return
    try:
        provider_id = backend.lookup(message)
    except Exception as exc:  # any failure: try again at the next sweep, up to a point
        logger.warning("omnichannel: lookup of message %s failed: %s", message.uuid, exc)
        if give_up:
            outcomes.fail(message, f"{UNCERTAIN_REASON} The lookup failed: {exc}")
        return
    if provider_id:
        outcomes.mark_sent(message, backend, provider_id=provider_id)
    else:
        outcomes.requeue(message)


# --- recording ---------------------------------------------------------------------------


@dataclass
class Outcomes:
    """Results of a batch's decisions, or of one provider call, written with a handful of
    statements.

    Every write is guarded by the lease (``locked_by``): a row that stopped being ours
    (cancelled, or taken over after our lease ran out) is left as it is. A sent message
    may already have been moved on by the provider's webhook (delivered, priced) between
    the call and this write: those values are kept, not overwritten.
    """

    now: object
    owner: str
    costs: dict = field(default_factory=dict)
    sent: list = field(default_factory=list)
    deferred: list = field(default_factory=list)
    retried: list = field(default_factory=list)
    requeued: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    uncertain: list = field(default_factory=list)
    closed: dict = field(default_factory=lambda: defaultdict(list))  # (status, reason) -> ids
    events: list = field(default_factory=list)
    suppressions: list = field(default_factory=list)

    def event(self, message, kind, detail="", raw=None, at=None):
        self.events.append(
            DeliveryEvent(
                message_id=message.pk,
                kind=kind,
                detail=detail,
                raw=raw or {},
                occurred_at=at or self.now,
            )
        )

    def mark_sent(self, message, backend, result=None, rendered=None, provider_id=""):
        delivered = bool(result and result.delivered)
        # Results are written in bulk, later: the send time is the call's, not the write's.
        sent_at = timezone.now() if result is not None else message.sent_at or self.now
        message.status = MessageStatus.DELIVERED if delivered else MessageStatus.SENT
        message.sent_at = sent_at
        message.delivered_at = sent_at if delivered else None
        message.provider = backend.provider
        if result is not None or provider_id:
            message.provider_message_id = (result.provider_message_id if result else provider_id)[
                :128
            ]
        if rendered is not None:
            message.rendered = rendered
        if result is not None:
            message.segments = result.segments
            message.cost, message.cost_currency = result.cost, result.cost_currency
        if message.cost is None:
            self._estimate_cost(message)
        message.last_error = ""
        self.sent.append(message)
        self.event(message, DeliveryEventKind.SENT, raw=result.raw if result else {}, at=sent_at)
        if delivered:
            self.event(message, DeliveryEventKind.DELIVERED, at=sent_at)

    def _estimate_cost(self, message):
        country = message.contact.country or message.contact.phone_region
        price = self.costs.get((message.channel, country)) or self.costs.get((message.channel, ""))
        if price is not None:
            message.cost = price.amount * (message.segments or 1)
            message.cost_currency = price.currency

    def defer(self, message, until, reason, kind=DeliveryEventKind.DEFERRED):
        message.status, message.scheduled_at = MessageStatus.QUEUED, until
        message.handed_at, message.last_error = None, reason
        self.deferred.append(message)
        self.event(message, kind, f"{reason}; until {until:%Y-%m-%d %H:%M:%S} UTC")

    def requeue(self, message):
        message.status, message.handed_at = MessageStatus.QUEUED, None
        self.requeued.append(message)

    def retry(self, message, error):
        detail = error.describe() if hasattr(error, "describe") else repr(error)
        if message.attempts >= omnichannel_settings.RETRY_MAX_ATTEMPTS:
            self.fail(message, f"gave up after {message.attempts} attempts: {detail}")
            return
        delay = backoff_seconds(message.attempts, getattr(error, "retry_after", None))
        self.defer(message, self.now + timedelta(seconds=delay), detail, DeliveryEventKind.RETRY)
        self.retried.append(self.deferred.pop())

    def check_later(self, message, error):
        """Leave the message handed over with its lease run out: the next sweep's
        recovery asks the provider whether it has it, and sends only if not."""
        message.locked_until, message.last_error = self.now, error.describe()
        self.uncertain.append(message)
        self.event(
            message, DeliveryEventKind.RETRY, f"{error.describe()}; checking with the provider"
        )

    def fail(self, message, reason, suppress_reason=None, address=""):
        message.status, message.last_error = MessageStatus.FAILED, reason
        self.failed.append(message)
        self.event(message, DeliveryEventKind.FAILED, reason)
        if suppress_reason and address:
            self.suppressions.append((message, suppress_reason, address, reason))

    def close(self, message, status, reason):
        self.closed[status, reason].append(message.pk)
        kind = (
            DeliveryEventKind.EXPIRED
            if status == MessageStatus.EXPIRED
            else DeliveryEventKind.CANCELLED
        )
        self.event(message, kind, reason)

    def write_and_tally(self):
        self.write()
        return tally(self)

    def write(self):
        lists = (self.sent, self.deferred, self.retried, self.requeued, self.failed, self.uncertain)
        touched = {message.pk for messages in lists for message in messages}
        touched |= {pk for ids in self.closed.values() for pk in ids}
        if not touched:
            return
        with transaction.atomic():
            ours = set(
                Message.objects.select_for_update()
                .filter(pk__in=touched, locked_by=self.owner)
                .values_list("pk", flat=True)
            )
            self.events = [e for e in self.events if e.message_id in ours]
            for message in self.sent:
                message.locked_until, message.locked_by, message.updated_at = None, "", self.now
            update_rows(
                [m for m in self.sent if m.pk in ours],
                SENT_FIELDS,
                where="locked_by = %s",
                where_params=[self.owner],
                templates=KEEP_PROVIDER_REPORTS,
            )
            for messages, fields in (
                (self.deferred + self.retried + self.requeued, WAIT_FIELDS),
                (self.failed, FAILED_FIELDS),
            ):
                for message in messages:
                    message.locked_until, message.locked_by, message.updated_at = None, "", self.now
                update_rows(
                    [m for m in messages if m.pk in ours],
                    fields,
                    where="status = %s AND locked_by = %s",
                    where_params=[MessageStatus.SENDING, self.owner],
                )
            update_rows(
                [m for m in self.uncertain if m.pk in ours],
                ["locked_until", "last_error"],
                where="status = %s AND locked_by = %s",
                where_params=[MessageStatus.SENDING, self.owner],
            )
            for (status, reason), ids in self.closed.items():
                Message.objects.filter(
                    pk__in=ids, status=MessageStatus.SENDING, locked_by=self.owner
                ).update(
                    status=status, last_error=reason, locked_until=None, locked_by="",
                    updated_at=self.now,
                )  # fmt: skip
            insert_objects(self.events)  # a batch's events in one statement
            for message, reason, address, detail in self.suppressions:
                suppress(message.channel, address, reason, contact=message.contact, detail=detail)
            sent = [m for m in self.sent if m.pk in ours]
            if sent:
                transaction.on_commit(
                    lambda: signals.message_sent.send(sender=Message, messages=sent)
                )


SENT_FIELDS = [
    "to", "status", "sent_at", "delivered_at", "provider", "provider_message_id", "segments",
    "cost", "cost_currency", "rendered", "last_error", "locked_until", "locked_by", "updated_at",
]  # fmt: skip
WAIT_FIELDS = [
    "status", "scheduled_at", "handed_at", "last_error", "locked_until", "locked_by",
    "updated_at",
]  # fmt: skip
FAILED_FIELDS = ["status", "last_error", "locked_until", "locked_by", "updated_at"]


def backoff_seconds(attempt, retry_after=None):
    """Exponential backoff with jitter: half fixed, half random, capped."""
    ceiling = min(
        omnichannel_settings.RETRY_BACKOFF_MAX_SECONDS,
        omnichannel_settings.RETRY_BACKOFF_SECONDS * 2 ** max(attempt - 1, 0),
    )
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    return max(delay, retry_after or 0)


# --- one batch ---------------------------------------------------------------------------


def dispatch_batch(owner, now=None):
    """Claim and process one batch; returns a ``SweepReport`` (claimed == 0: nothing due)."""
    now = now or timezone.now()
    report = SweepReport(batches=1)
    ids = claim(owner, omnichannel_settings.DISPATCH_BATCH_SIZE, now)
    report.claimed = len(ids)
    if not ids:
        return report
    lease = batch_lease(owner)
    messages = list(
        Message.objects.filter(pk__in=ids)
        .select_related("contact", "enrollment__flow", "enrollment__cart")
        .order_by("-priority", "scheduled_at")
    )
    # The push backend's address is the contact's browsers: read them only when needed.
    prefetch_related_objects(
        [m.contact for m in messages if m.channel == Channel.PUSH], "push_subscriptions"
    )
    costs = {(c.channel, c.country): c for c in ChannelCost.objects.all()}
    outcomes = Outcomes(now, owner, costs=costs)
    backends, addresses = {}, {}
    for message in messages:
        try:
            backends[message.pk] = get_backend(message.channel)
        except ChannelNotConfigured as exc:
            outcomes.fail(message, str(exc))
            continue
        addresses[message.pk] = backends[message.pk].address(message)
    facts = policy.BatchFacts.load(messages, addresses, now)
    to_send = []
    for message in messages:
        if message.pk not in backends:
            continue
        try:
            decision = policy.decide(message, addresses[message.pk], facts, now)
        except Exception as exc:  # one message the policy cannot judge fails alone
            logger.exception("omnichannel: the policy failed on message %s", message.uuid)
            outcomes.fail(message, f"the send policy could not decide: {exc}")
            continue
        if decision.action == policy.SEND:
            message.to = str(addresses[message.pk])[:512]
            to_send.append(message)
            facts.record_send(message, now)
        elif decision.action == policy.DEFER:
            outcomes.defer(message, decision.until, decision.reason)
        elif decision.action == policy.EXPIRE:
            outcomes.close(message, MessageStatus.EXPIRED, decision.reason)
        else:
            outcomes.close(message, MessageStatus.CANCELLED, decision.reason)
    rendered = {}
    with one_brand():
        for message in to_send:
            try:
                rendered[message.pk] = render_message(message)
            except Exception as exc:  # a broken template fails its message only
                outcomes.fail(message, f"the content could not be rendered: {exc}")
    to_send = [m for m in to_send if m.pk in rendered]
    to_send = pace(to_send, backends, rendered, outcomes, now)
    outcomes.write()
    report.add(tally(outcomes))
    report.add(send_each(to_send, backends, rendered, owner, lease, costs))
    return report


def send_each(messages, backends, rendered, owner, lease, costs):
    """Hand over and send ``messages`` one by one; returns their tally.

    Each message costs one statement before its provider call, its hand-over, which also
    marks the message before it as sent. The rest of the results (provider details,
    events, costs) are written together, at the end of the batch and whenever the lease
    is renewed; an outcome other than "sent" is written before the next hand-over, so at
    most one message's outcome is ever unknown. The messages of one backend go inside its
    ``batch_session()``, entered at the first of them and left when the batch ends, so they share
    one provider connection.
    """
    report = SweepReport()
    results = Outcomes(timezone.now(), owner, costs=costs)
    sent = None  # the message just sent, marked by the next hand-over
    connection = connections[router.db_for_write(Message)]
    with connection.cursor() as cursor, commit_mode(cursor), contextlib.ExitStack() as sessions:
        in_session = set()
        for message in messages:
            if lease.renew_if_due():
                report.add(results.write_and_tally())
                results, sent = Outcomes(timezone.now(), owner, costs=costs), None
            backend = backends[message.pk]
            refused = hand_over(cursor, message, owner, backend, sent)
            sent = None
            if refused == LOST:
                logger.warning(
                    "omnichannel: %s lost its lease on message %s; leaving the rest of the "
                    "batch to its new owner",
                    owner,
                    message.uuid,
                )
                break
            if refused:
                results.close(message, MessageStatus.CANCELLED, refused)
                continue
            if backend not in in_session:
                sessions.enter_context(backend.batch_session())
                in_session.add(backend)
            if send_one(message, backend, rendered[message.pk], results):
                sent = message
            else:
                report.add(results.write_and_tally())
                results = Outcomes(timezone.now(), owner, costs=costs)
    return report.add(results.write_and_tally())


@contextlib.contextmanager
def commit_mode(cursor):
    """``DISPATCH_SYNCHRONOUS_COMMIT`` for this connection while it sends a batch."""
    fast = cursor.db.vendor == "postgresql" and not omnichannel_settings.DISPATCH_SYNCHRONOUS_COMMIT
    if fast:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        if fast:
            cursor.execute("RESET synchronous_commit")


def pace(messages, backends, rendered, outcomes, now):
    """Apply ``RATE_LIMITS`` per sender; returns the messages that may go now."""
    limits = omnichannel_settings.RATE_LIMITS or {}
    horizon = timedelta(seconds=omnichannel_settings.SWEEP_INTERVAL_SECONDS)
    groups = defaultdict(list)
    for message in messages:
        rate = limits.get(message.channel)
        sender = backends[message.pk].sender(message) if rate else ""
        groups[message.channel, sender].append(message)
    allowed = []
    for (channel, sender), group in groups.items():
        if not sender:
            allowed += group
            continue
        weights = [segments(rendered[m.pk].get("text", "")) or 1 for m in group]
        slots = throttle.reserve(f"{channel}:{sender}", weights, limits[channel], now, horizon)
        for message, slot in zip(group, slots, strict=True):
            if slot <= now + horizon:
                allowed.append(message)
            else:
                outcomes.defer(message, slot, f"rate limit of {sender}")
    return allowed


def send_one(message, backend, rendered, outcomes):
    """The provider call for one handed-over message, its result kept in ``outcomes``;
    returns whether the provider took it."""
    try:
        result = backend.send(message, rendered)
    except PermanentSendError as exc:
        outcomes.fail(message, exc.describe(), exc.suppress, message.to)
    except TransientSendError as exc:
        outcomes.retry(message, exc)
    except UncertainSendError as exc:
        if backend.supports_lookup:
            outcomes.check_later(message, exc)
        else:
            outcomes.retry(message, exc)
    except Exception as exc:  # unknown errors retry, bounded by attempts
        logger.exception("omnichannel: %s backend raised on message %s", backend, message.uuid)
        outcomes.retry(message, exc)
    else:
        outcomes.mark_sent(message, backend, result, rendered)
        return True
    return False


def tally(outcomes):
    return SweepReport(
        sent=len(outcomes.sent),
        deferred=len(outcomes.deferred),
        retried=len(outcomes.retried),
        failed=len(outcomes.failed),
        requeued=len(outcomes.requeued),
        uncertain=len(outcomes.uncertain),
        cancelled=sum(len(ids) for ids in outcomes.closed.values()),
    )


# --- a sweep -----------------------------------------------------------------------------


def sweep(time_budget=None):
    """Recover expired leases, then dispatch batches until none is due or time is up."""
    owner = worker_id()
    report = recover_expired_leases(owner, timezone.now())
    return run_batches(
        lambda: dispatch_batch(owner), report, lambda batch: batch.claimed, time_budget
    )
