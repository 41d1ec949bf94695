"""Whether, when and where a message goes.

The dispatcher asks ``decide()`` for every claimed message, right before sending, with
facts prefetched for the whole batch (``BatchFacts``), so a batch of any size costs the
same few queries. Checks run in order of finality: expired, no address, suppressed, no
consent, outside the send window (wait), over a frequency cap (wait or skip).

Flow priority: a marketing message of a flow waits while a flow of higher priority has
messaged the contact within the last ``FLOW_PRIORITY_WINDOW_HOURS`` (a day), or will
within the next (a message queued, a step due), so one contact never gets a cart
reminder, a browse reminder and a win-back on the same day: the highest goes, the others
wait (and expire when their wait outlasts them).
"""

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q

from ..carts.carts import FINAL_STATUSES as FINAL_CART_STATUSES
from ..channels import enabled_channels
from ..conf import omnichannel_settings
from ..models import CartSnapshot, Consent, Enrollment, Message, Suppression, TrackedOrder
from ..models.consent import ConsentStatus, Purpose
from ..models.flows import EnrollmentState, ExitGoal, FlowKind, FlowStatus
from ..models.messages import MessageStatus
from .status import STOPPABLE

SEND, DEFER, CANCEL, EXPIRE = "send", "defer", "cancel", "expire"


@dataclass(frozen=True)
class Decision:
    action: str
    reason: str = ""
    until: dt.datetime | None = None


GO = Decision(SEND)


@dataclass
class BatchFacts:
    """What the policy needs about a batch, read in three queries."""

    consents: dict = field(default_factory=dict)  # (contact_id, channel, purpose) -> status
    suppressed: set = field(default_factory=set)  # (channel, address)
    sent: dict = field(default_factory=lambda: defaultdict(list))  # (contact_id, channel)
    purchases: dict = field(default_factory=lambda: defaultdict(list))  # contact_id -> [at]
    recovering: set = field(default_factory=set)  # contacts in an active cart recovery
    # contact_id -> [(flow priority, flow name, until)]: flows messaging them about now
    ahead: dict = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def load(cls, messages, addresses, now):
        facts = cls()
        contact_ids = {m.contact_id for m in messages}
        for contact_id, channel, purpose, status in Consent.objects.filter(
            contact_id__in=contact_ids
        ).values_list("contact_id", "channel", "purpose", "status"):
            facts.consents[contact_id, channel, purpose] = status
        pairs = {(m.channel, str(addresses[m.pk])) for m in messages if addresses.get(m.pk)}
        if pairs:
            # One IN per column and the exact pairs kept in Python: an OR of a pair per
            # message costs more to build than the query costs to run.
            found = Suppression.objects.filter(
                channel__in={channel for channel, _ in pairs},
                address__in={address for _, address in pairs},
            ).values_list("channel", "address")
            facts.suppressed = set(found) & pairs
        flow_contacts = {m.contact_id for m in messages if m.enrollment_id}
        if flow_contacts:
            for contact_id, placed_at in TrackedOrder.objects.filter(
                contact_id__in=flow_contacts, is_purchase=True
            ).values_list("contact_id", "placed_at"):
                facts.purchases[contact_id].append(placed_at)
        facts.recovering = set(
            Enrollment.objects.filter(
                contact_id__in=contact_ids,
                state=EnrollmentState.ACTIVE,
                flow__kind=FlowKind.CART_RECOVERY,
            ).values_list("contact_id", flat=True)
        )
        facts.load_ahead({m.contact_id for m in messages if is_flow_marketing(m)}, now)
        longest = max((cap.window for cap in caps().values()), default=None)
        if longest:
            recent = Message.objects.filter(
                contact_id__in=contact_ids,
                purpose=Purpose.MARKETING,
                sent_at__gte=now - longest,
                status__in=(MessageStatus.SENT, MessageStatus.DELIVERED),
            ).values_list("contact_id", "channel", "sent_at")
            for contact_id, channel, sent_at in recent:
                facts.sent[contact_id, channel].append(sent_at)
        return facts

    def load_ahead(self, contact_ids, now):
        """The flows that messaged ``contact_ids`` within the priority window or will, and
        until when each holds lower-priority flows back (two queries)."""
        if not contact_ids:
            return
        window = priority_window()
        near = Q(
            status__in=(MessageStatus.SENT, MessageStatus.DELIVERED),
            sent_at__gte=now - window,
        ) | Q(status__in=STOPPABLE, handed_at__isnull=True, scheduled_at__lte=now + window)
        for contact_id, priority, name, sent_at, scheduled_at in (
            Message.objects.filter(near, contact_id__in=contact_ids, purpose=Purpose.MARKETING)
            .exclude(enrollment=None)
            .values_list(
                "contact_id", "enrollment__flow__priority", "enrollment__flow__name",
                "sent_at", "scheduled_at",
            )
        ):  # fmt: skip
            until = (sent_at or scheduled_at) + window
            self.ahead[contact_id].append((priority, name, until))
        for contact_id, priority, name, due_at in Enrollment.objects.filter(
            contact_id__in=contact_ids,
            state=EnrollmentState.ACTIVE,
            flow__status=FlowStatus.ACTIVE,
            next_step_at__lte=now + window,
        ).values_list("contact_id", "flow__priority", "flow__name", "next_step_at"):
            self.ahead[contact_id].append((priority, name, due_at + window))

    def record_send(self, message, now):
        """Count a message decided in this batch against the caps of the rest."""
        if message.purpose == Purpose.MARKETING:
            self.sent[message.contact_id, message.channel].append(now)


def caps():
    """``FREQUENCY_CAPS`` as ``FrequencyCap`` objects, checked at startup."""
    return omnichannel_settings.FREQUENCY_CAPS


def decide(message, address, facts, now):
    if message.expires_at and message.expires_at <= now:
        return Decision(EXPIRE, "expired before it could be sent")
    if not address:
        return Decision(CANCEL, f"the contact has no {message.get_channel_display()} address")
    if (message.channel, address) in facts.suppressed:
        return Decision(CANCEL, "address is suppressed")
    status = facts.consents.get((message.contact_id, message.channel, message.purpose))
    if message.purpose == Purpose.MARKETING and status != ConsentStatus.GRANTED:
        return Decision(CANCEL, "no marketing consent for this channel")
    if status == ConsentStatus.WITHDRAWN:
        return Decision(CANCEL, "the contact refused these messages")
    left = left_flow(message, facts)
    if left:
        return Decision(CANCEL, left)
    if message.enrollment is not None and message.enrollment.flow.status == FlowStatus.PAUSED:
        return Decision(DEFER, "the flow is paused", now + PAUSED_FLOW_RECHECK)
    if message.purpose != Purpose.MARKETING:
        return GO
    if message.contact_id in facts.recovering and not is_cart_recovery(message):
        # Cart recovery goes first: other marketing waits instead of piling on.
        return Decision(DEFER, "the contact is in a cart recovery", now + RECOVERY_HOLD)
    outranked = outranked_by(message, facts, now)
    if outranked is not None:
        return outranked
    opening = window_opening(message.contact, message.channel, now)
    if opening is not None:
        return Decision(DEFER, "outside the send window", opening)
    return check_caps(message, facts, now)


def priority_window():
    """How long a flow's message holds back lower-priority flows' marketing, either side."""
    return dt.timedelta(hours=omnichannel_settings.FLOW_PRIORITY_WINDOW_HOURS)


def is_flow_marketing(message):
    return message.enrollment_id is not None and message.purpose == Purpose.MARKETING


def outranked_by(message, facts, now):
    """A deferral when a higher-priority flow messages the contact within the priority
    window, else None.

    The message waits until the last such message is a window old; by then it may have
    expired (``FLOW_MESSAGE_TTL_SECONDS``), which is the point: it does not pile on.
    """
    if message.enrollment is None:
        return None
    own = message.enrollment.flow.priority
    higher = [
        (name, until)
        for priority, name, until in facts.ahead[message.contact_id]
        if priority > own and until > now
    ]
    if not higher:
        return None
    name, until = max(higher, key=lambda pair: pair[1])
    return Decision(DEFER, f"flow priority: {name!r} goes first", until)


@dataclass(frozen=True)
class CheckShape:
    """Which last checks apply to a message: they differ by purpose and flow, so each shape
    gets a statement of its own with nothing but ANDed conditions, which PostgreSQL turns
    into joins probing an index per fact (an EXISTS under an OR would instead be a hashed
    subplan: a scan of the whole consent table for every message)."""

    marketing: bool
    enrolled: bool
    orders_exit: bool

    @classmethod
    def of(cls, message):
        enrollment = message.enrollment
        return cls(
            marketing=message.purpose == Purpose.MARKETING,
            enrolled=enrollment is not None,
            orders_exit=bool(enrollment and ExitGoal.ORDERED in enrollment.flow.exit_goals),
        )


def last_checks(shape):
    """What may have changed since the batch was decided, as (SQL condition, reason) pairs.

    Each condition is plain SQL over the message row ``m``, so the hand-over UPDATE that
    precedes every provider call re-checks them all in one statement of one fixed text per
    ``shape`` (prepared once per connection), per message: an order, a STOP, a withdrawn
    consent or a suppression that lands while the batch is out stops every message not yet
    handed over, even when the event's own cancellation has not run yet. The parameters
    are ``now`` and ``to`` (the address the message is about to go to).
    """
    return _last_checks_sql(shape)


@functools.cache
def _last_checks_sql(shape):
    # Quoted as both PostgreSQL and SQLite want identifiers quoted.
    def table(model):
        return f'"{model._meta.db_table}"'

    def col(model, name):
        return f'"{model._meta.get_field(name).column}"'

    def pk(model):
        return f'"{model._meta.pk.column}"'

    def quoted(values):
        return ", ".join(f"'{value}'" for value in values)

    m_contact, m_channel, m_purpose = (col(Message, f) for f in ("contact", "channel", "purpose"))
    m_enrollment, m_expires = col(Message, "enrollment"), col(Message, "expires_at")

    def consent(status):
        return (
            f"SELECT 1 FROM {table(Consent)} c WHERE c.{col(Consent, 'contact')} = m.{m_contact} "
            f"AND c.{col(Consent, 'channel')} = m.{m_channel} "
            f"AND c.{col(Consent, 'purpose')} = m.{m_purpose} "
            f"AND c.{col(Consent, 'status')} = '{status}'"
        )

    # The message row is referred to in WHERE only: PostgreSQL turns an EXISTS into a join
    # only when its FROM and ON clauses stand on their own.
    def enrollment_with(joined, on, condition):
        return (
            f"SELECT 1 FROM {table(Enrollment)} e JOIN {table(joined)} x ON {on} "
            f"WHERE e.{pk(Enrollment)} = m.{m_enrollment} AND {condition}"
        )

    checks = [
        (f"m.{m_expires} IS NULL OR m.{m_expires} > %(now)s", "expired before it could be sent"),
        (
            f"NOT EXISTS (SELECT 1 FROM {table(Suppression)} s "
            f"WHERE s.{col(Suppression, 'channel')} = m.{m_channel} "
            f"AND s.{col(Suppression, 'address')} = %(to)s)",
            "address is suppressed",
        ),
    ]
    if shape.marketing:
        checks.append(
            (f"EXISTS ({consent(ConsentStatus.GRANTED)})", "no marketing consent for this channel")
        )
    checks.append(
        (f"NOT EXISTS ({consent(ConsentStatus.WITHDRAWN)})", "the contact refused these messages")
    )
    if shape.enrolled:
        flow = Enrollment._meta.get_field("flow").related_model
        checks.append(
            (
                "EXISTS ("
                + enrollment_with(
                    flow,
                    f"x.{pk(flow)} = e.{col(Enrollment, 'flow')}",
                    f"e.{col(Enrollment, 'state')} <> '{EnrollmentState.EXITED}' "
                    f"AND x.{col(flow, 'status')} <> '{FlowStatus.ARCHIVED}'",
                )
                + ")",
                "left the flow",
            )
        )
    if shape.orders_exit:
        ordered = enrollment_with(
            TrackedOrder,
            f"x.{col(TrackedOrder, 'placed_at')} >= e.{col(Enrollment, 'triggered_at')}",
            f"x.{col(TrackedOrder, 'contact')} = m.{m_contact} "
            f"AND x.{col(TrackedOrder, 'is_purchase')}",
        )
        converted = enrollment_with(
            CartSnapshot,
            f"x.{pk(CartSnapshot)} = e.{col(Enrollment, 'cart')}",
            f"x.{col(CartSnapshot, 'status')} IN ({quoted(FINAL_CART_STATUSES)})",
        )
        checks.append(
            (
                f"NOT EXISTS ({ordered}) AND NOT EXISTS ({converted})",
                "left the flow: placed an order",
            )
        )
    return checks


def why_not_sendable(cursor, message, params):
    """The reason the hand-over of ``message`` was refused (the rare path: a few queries)."""
    for condition, reason in last_checks(CheckShape.of(message)):
        cursor.execute(
            f"SELECT 1 FROM {Message._meta.db_table} m WHERE m.id = %(id)s AND ({condition})",
            {**params, "id": message.pk},
        )
        if cursor.fetchone() is None:
            return reason
    return "stopped at the last check before sending"


RECOVERY_HOLD = dt.timedelta(hours=6)
# Messages of a paused flow wait; they are looked at again this often.
PAUSED_FLOW_RECHECK = dt.timedelta(hours=1)


def is_cart_recovery(message):
    return message.enrollment is not None and message.enrollment.flow.kind == FlowKind.CART_RECOVERY


def left_flow(message, facts):
    """Why a flow message must not go any more ('' when it may): the last re-check of the
    flow's exit goals, right before sending. An order the exit signal missed still stops
    the reminder here."""
    enrollment = message.enrollment
    if enrollment is None:
        return ""
    if enrollment.state == EnrollmentState.EXITED:
        return f"left the flow: {enrollment.exit_reason}"
    if enrollment.flow.status == FlowStatus.ARCHIVED:
        return "the flow was archived"
    if ExitGoal.ORDERED in enrollment.flow.exit_goals:
        cart = enrollment.cart
        ordered = any(t >= enrollment.triggered_at for t in facts.purchases[message.contact_id])
        if ordered or (cart is not None and cart.status in FINAL_CART_STATUSES):
            return "left the flow: placed an order"
    if ExitGoal.ADDED_TO_CART in enrollment.flow.exit_goals and message.contact_id in (
        facts.recovering
    ):
        return "left the flow: a cart recovery took over"
    return ""


def check_caps(message, facts, now):
    for scope, cap in caps().items():
        if scope == "all":
            times = [
                sent_at
                for (contact_id, _channel), sent in facts.sent.items()
                if contact_id == message.contact_id
                for sent_at in sent
            ]
        elif scope == message.channel:
            times = facts.sent[message.contact_id, message.channel]
        else:
            continue
        recent = sorted(t for t in times if t > now - cap.window)
        if len(recent) < cap.count:
            continue
        reason = f"frequency cap: {cap.count} per {cap.hours} h ({scope})"
        if cap.action == "skip":
            return Decision(CANCEL, reason)
        return Decision(DEFER, reason, recent[-cap.count] + cap.window)
    return GO


# --- send windows ------------------------------------------------------------------------


def window_for(contact, channel):
    """The contact's ``SendWindow`` on ``channel`` (checked at startup), or None."""
    windows = omnichannel_settings.SEND_WINDOWS.get(channel)
    if not windows:
        return None
    country = contact.country or contact.phone_region
    return windows.get(country) or windows.get("*")


def window_opening(contact, channel, now):
    """None when ``now`` is inside the contact's local send window, else its next opening."""
    window = window_for(contact, channel)
    if window is None:
        return None
    zone = contact.get_time_zone()
    local = now.astimezone(zone)
    if window.allows(local):
        return None
    day = local.date() if local.time() < window.start else local.date() + dt.timedelta(days=1)
    # Every window opens on at least one weekday (the settings check sees to it).
    while day.weekday() not in window.days:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, window.start, tzinfo=zone).astimezone(dt.UTC)


# --- channel choice ----------------------------------------------------------------------


def preferred_channels(contact):
    """The contact's own order first, then their country's, then the shop's."""
    preferences = omnichannel_settings.CHANNEL_PREFERENCES
    country = contact.country or contact.phone_region
    ordered = list(contact.attributes.get("preferred_channels") or [])
    ordered += preferences.get(country) or preferences.get("*") or []
    return list(dict.fromkeys(ordered))


class Reach:
    """Consents and suppressions of many contacts, read in two queries for
    ``choose_channel``; a batch reads them once instead of twice per contact."""

    def __init__(self, contacts):
        contact_ids = {contact.pk for contact in contacts}
        addresses = {a for contact in contacts for a in (contact.email, contact.phone) if a}
        self.consents = defaultdict(dict)  # (contact_id, purpose) -> {channel: status}
        for contact_id, channel, purpose, status in Consent.objects.filter(
            contact_id__in=contact_ids
        ).values_list("contact_id", "channel", "purpose", "status"):
            self.consents[contact_id, purpose][channel] = status
        self.by_contact, self.by_address = defaultdict(set), defaultdict(set)
        for contact_id, channel, address in Suppression.objects.filter(
            Q(contact_id__in=contact_ids) | Q(address__in=addresses)
        ).values_list("contact_id", "channel", "address"):
            self.by_contact[contact_id].add((channel, address))
            self.by_address[address].add((channel, address))

    def suppressed(self, contact):
        """(channel, address) pairs suppressed for the contact or one of its addresses."""
        found = set(self.by_contact.get(contact.pk, ()))
        for address in (contact.email, contact.phone):
            if address:
                found |= self.by_address.get(address, set())
        return found


def choose_channel(
    contact, candidates=None, *, purpose=Purpose.MARKETING, cart_value=None, reach=None
):
    """The first channel that can reach ``contact`` now, or None.

    ``candidates`` limits the choice (the channels a flow step has content for). A channel
    is skipped when it has no backend, the contact has no address on it, refused it for
    ``purpose`` (or, for marketing, never agreed to it), the address is suppressed, or the
    cart is worth less than ``CHANNEL_MIN_CART_VALUE``. ``reach`` is a ``Reach`` read for
    a batch of contacts including this one; without it, it is read for this one.
    """
    from ..channels import get_backend

    enabled = set(enabled_channels())
    minimums = omnichannel_settings.CHANNEL_MIN_CART_VALUE
    reach = reach or Reach([contact])
    consents = reach.consents.get((contact.pk, purpose), {})
    suppressed = reach.suppressed(contact)
    for channel in preferred_channels(contact):
        if channel not in enabled or (candidates is not None and channel not in candidates):
            continue
        minimum = minimums.get(channel)
        if minimum is not None and (cart_value is None or cart_value < minimum):
            continue
        status = consents.get(channel)
        if status == ConsentStatus.WITHDRAWN or (
            purpose == Purpose.MARKETING and status != ConsentStatus.GRANTED
        ):
            continue
        probe = Message(contact=contact, channel=channel)
        address = get_backend(channel).address(probe)
        if address and (channel, address) not in suppressed:
            return channel
    return None
