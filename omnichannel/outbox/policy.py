"""Whether, when and where a message goes.

The dispatcher asks ``decide()`` for every claimed message, right before sending, with
facts prefetched for the whole batch (``BatchFacts``), so a batch of any size costs the
same few queries. Checks run in order of finality: expired, no address, suppressed, no
consent, outside the send window (wait), over a frequency cap (wait or skip).
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
    opening = window_opening(message.contact, message.channel, now)
    if opening is not None:
        return Decision(DEFER, "outside the send window", opening)
    return check_caps(message, facts, now)


def last_checks():
    """What may have changed since the batch was decided, as (SQL condition, reason) pairs.

    Each condition is plain SQL over the message row ``m``, so the hand-over UPDATE that
    precedes every provider call re-checks them all in one statement of one fixed text
    (prepared once per connection, whatever the message), per message: an
    order, a STOP, a withdrawn consent or a suppression that lands while the batch is out
    stops every message not yet handed over, even when the event's own cancellation has
    not run yet. The parameters are those of ``last_check_params``.
    """
    return _last_checks_sql()


@functools.cache
def _last_checks_sql():
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
    consent = (
        f"SELECT 1 FROM {table(Consent)} c WHERE c.{col(Consent, 'contact')} = m.{m_contact} "
        f"AND c.{col(Consent, 'channel')} = m.{m_channel} "
        f"AND c.{col(Consent, 'purpose')} = m.{m_purpose} AND c.{col(Consent, 'status')} = "
    )
    enrollment = f"SELECT 1 FROM {table(Enrollment)} e WHERE e.{pk(Enrollment)} = m.{m_enrollment}"
    flow = Enrollment._meta.get_field("flow").related_model
    orders = (
        f"{enrollment} AND EXISTS (SELECT 1 FROM {table(TrackedOrder)} o "
        f"WHERE o.{col(TrackedOrder, 'contact')} = m.{m_contact} "
        f"AND o.{col(TrackedOrder, 'is_purchase')} "
        f"AND o.{col(TrackedOrder, 'placed_at')} >= e.{col(Enrollment, 'triggered_at')})"
    )
    converted = (
        f"{enrollment} AND EXISTS (SELECT 1 FROM {table(CartSnapshot)} k "
        f"WHERE k.{pk(CartSnapshot)} = e.{col(Enrollment, 'cart')} "
        f"AND k.{col(CartSnapshot, 'status')} IN ({quoted(FINAL_CART_STATUSES)}))"
    )
    return [
        (f"m.{m_expires} IS NULL OR m.{m_expires} > %(now)s", "expired before it could be sent"),
        (
            f"NOT EXISTS (SELECT 1 FROM {table(Suppression)} s "
            f"WHERE s.{col(Suppression, 'channel')} = m.{m_channel} "
            f"AND s.{col(Suppression, 'address')} = %(to)s)",
            "address is suppressed",
        ),
        (
            f"m.{m_purpose} <> '{Purpose.MARKETING}' "
            f"OR EXISTS ({consent}'{ConsentStatus.GRANTED}')",
            "no marketing consent for this channel",
        ),
        (
            f"NOT EXISTS ({consent}'{ConsentStatus.WITHDRAWN}')",
            "the contact refused these messages",
        ),
        (
            f"m.{m_enrollment} IS NULL OR EXISTS ({enrollment} "
            f"AND e.{col(Enrollment, 'state')} <> '{EnrollmentState.EXITED}' "
            f"AND EXISTS (SELECT 1 FROM {table(flow)} f WHERE f.{pk(flow)} = "
            f"e.{col(Enrollment, 'flow')} AND f.{col(flow, 'status')} <> '{FlowStatus.ARCHIVED}'))",
            "left the flow",
        ),
        (
            f"NOT %(orders_exit)s OR NOT EXISTS ({orders}) AND NOT EXISTS ({converted})",
            "left the flow: placed an order",
        ),
    ]


def last_check_params(message, now):
    """The parameters of ``last_checks`` for ``message`` about to go to ``message.to``.

    Whether an order stops the message is the flow's own setting, read with the batch.
    """
    enrollment = message.enrollment
    return {
        "now": now,
        "to": message.to,
        "orders_exit": bool(enrollment and ExitGoal.ORDERED in enrollment.flow.exit_goals),
    }


def why_not_sendable(cursor, message, params):
    """The reason the hand-over of ``message`` was refused (the rare path: a few queries)."""
    for condition, reason in last_checks():
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
