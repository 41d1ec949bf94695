"""The one attribution model: which flow message and which popup a purchase is credited to.

Decided once, when an order becomes a purchase (``orders.record_order``), and stored on the
order, so that the flow page, the canvas, the cart dashboard, the popup figures, the
marketing home and the ``order.attributed`` webhook credit the same touch:

* the message: the last click on a flow message of the buyer (or about the order's cart, for
  a guest checkout) within ``click_days`` of that message's channel before the order, else
  the last such flow message sent within ``send_days`` of its channel (the ``ATTRIBUTION``
  setting). The message's step, flow, variant and channel are copied onto the order, so
  the credit outlives the message;
* the popup: the popup the buyer subscribed through within ``popup_days`` before the order,
  beside the message (a popup is where the list came from, not a message that sold).

An order that stops being a purchase (a refund, a cancelled payment) loses its credit; a
click after the order never re-credits it. Two UPDATE statements per kind of buyer (a
contact, or only a cart), whatever the number of orders, messages and clicks, each reading
the messages through an index (the contact's, or the cart's enrollments): an OR of the two
would scan every message.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import BigIntegerField, Case, Exists, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from ..conf import omnichannel_settings
from ..core.durations import describe_delay
from ..models import DeliveryEvent, Message, PopupSignup, TrackedOrder
from ..models.messages import Channel, DeliveryEventKind
from ..models.orders import AttributionKind

#: What ``clear`` writes: an order without credit.
NO_CREDIT = {
    "attributed_by": "",
    "attributed_message": None,
    "attributed_flow": None,
    "attributed_step": None,
    "attributed_variant": None,
    "attributed_channel": "",
    "attributed_popup": None,
}
CREDIT_FIELDS = [*NO_CREDIT]


def _within(days_by_channel, at, channel):
    """``at`` (a field of the touch) lies in its channel's window before the outer order."""
    placed = OuterRef("placed_at")
    within = Q(pk__in=[])
    for name, days in days_by_channel.items():
        if days:
            within |= Q(**{channel: name, f"{at}__gte": placed - timedelta(days=days)})
    return within & Q(**{f"{at}__lt": placed})


def _to_contact(message):
    """The message (``message`` is its path) went to the outer order's buyer."""
    return Q(**{f"{message}contact": OuterRef("contact")})


def _about_cart(message):
    """The message was about the outer order's cart: a guest checkout has no contact."""
    return Q(**{f"{message}enrollment__cart": OuterRef("cart")})


def _clicks(to_buyer):
    """Clicks on flow messages to the outer order's buyer inside their channel's window."""
    clicks = DeliveryEvent.objects.filter(
        _within(omnichannel_settings.ATTRIBUTION["click_days"], "occurred_at", "message__channel"),
        to_buyer("message__"),
        kind=DeliveryEventKind.CLICKED,
        message__enrollment__isnull=False,
    )
    return clicks.order_by("-occurred_at", "-pk").values("message__pk")


def _sends(to_buyer):
    """Flow messages sent to the outer order's buyer inside their channel's window."""
    sends = Message.objects.filter(
        _within(omnichannel_settings.ATTRIBUTION["send_days"], "sent_at", "channel"),
        to_buyer(""),
        enrollment__isnull=False,
    )
    return sends.order_by("-sent_at", "-pk").values("pk")


def _last_popup():
    placed = OuterRef("placed_at")
    signups = PopupSignup.objects.filter(
        contact=OuterRef("contact"),
        created_at__lte=placed,
        created_at__gte=placed - timedelta(days=omnichannel_settings.ATTRIBUTION["popup_days"]),
    )
    return Subquery(signups.order_by("-created_at", "-pk").values("popup_id")[:1])


def _of_message(field):
    """``field`` of the order's credited message (unordered: it is one row by its key)."""
    chosen = Message.objects.filter(pk=OuterRef("attributed_message")).order_by()
    return Subquery(chosen.values(field)[:1])


def _credit(orders, to_buyer):
    """Credit the queryset ``orders``, whose messages ``to_buyer`` finds; two queries.

    The first statement chooses the message and the popup, the second copies the chosen
    message's step, flow, variant and channel (an UPDATE cannot read a value it sets in the
    same statement). Orders that are not purchases lose their credit."""
    purchase = Q(is_purchase=True)
    clicks, sends = _clicks(to_buyer), _sends(to_buyer)
    orders.update(
        attributed_by=Case(
            When(purchase & Q(Exists(clicks)), then=Value(AttributionKind.CLICK)),
            When(purchase & Q(Exists(sends)), then=Value(AttributionKind.SEND)),
            default=Value(""),
        ),
        attributed_message=Case(
            When(purchase, then=Coalesce(Subquery(clicks[:1]), Subquery(sends[:1]))),
            default=None,
            output_field=BigIntegerField(),
        ),
        attributed_popup=Case(
            When(purchase, then=_last_popup()), default=None, output_field=BigIntegerField()
        ),
    )
    orders.update(
        attributed_flow=_of_message("enrollment__flow_id"),
        attributed_step=_of_message("step_id"),
        attributed_variant=_of_message("variant_id"),
        attributed_channel=Coalesce(_of_message("channel"), Value("")),
    )


def attribute_orders(orders):
    """Credit each order of the queryset ``orders`` by the model above; four queries."""
    _credit(orders.filter(contact__isnull=False), _to_contact)
    _credit(orders.filter(contact__isnull=True), _about_cart)


def attribute(order):
    """Credit ``order`` (a saved ``TrackedOrder``) and load the credit onto it; three
    queries, whatever the buyer's history."""
    to_buyer = _to_contact if order.contact_id else _about_cart
    _credit(TrackedOrder.objects.filter(pk=order.pk), to_buyer)
    order.refresh_from_db(fields=CREDIT_FIELDS)
    return order


def clear(order):
    """Take the credit off ``order``, which stopped being a purchase; one query."""
    TrackedOrder.objects.filter(pk=order.pk).update(**NO_CREDIT)
    for name, value in NO_CREDIT.items():
        setattr(order, name, value)
    return order


def attribute_existing(*, everything=False, batch_size=1000):
    """Credit the purchases recorded before this model existed (those without a credit;
    every purchase with ``everything``, after a change of ``ATTRIBUTION``), in batches of
    ``batch_size`` orders, each its own transaction so no run holds long locks. Only
    touches before each order count, so a late run credits what a timely one would have.
    Returns how many orders were looked at."""
    purchases = TrackedOrder.objects.filter(is_purchase=True)
    if not everything:
        purchases = purchases.filter(attributed_by="")
    done, after = 0, 0
    while batch := list(
        purchases.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch_size]
    ):
        with transaction.atomic():
            attribute_orders(TrackedOrder.objects.filter(pk__in=batch))
        done, after = done + len(batch), batch[-1]
    return done


def _windows(days_by_channel):
    """The windows in words, channels with equal ones together: "5 days (Email); 1 day
    (SMS, WhatsApp)"; "" when no channel has one."""
    grouped = {}
    for channel, days in days_by_channel.items():
        if days:
            grouped.setdefault(days, []).append(str(Channel(channel).label))
    return "; ".join(
        f"{_days(days)} ({', '.join(channels)})"
        for days, channels in sorted(grouped.items(), reverse=True)
    )


def _days(days):
    """A window in words: "5 days", "1 day", "12 hours" (it may be a fraction of a day)."""
    return describe_delay(timedelta(days=days))


def describe():
    """The model as one sentence for the report pages, in the active language."""
    settings = omnichannel_settings.ATTRIBUTION
    return _(
        "Orders are credited to the last click on a flow message within %(clicks)s before "
        "the order, else to the last flow message sent within %(sends)s; each order counts "
        "once. Popups are credited with the purchases of contacts who subscribed through "
        "them within %(popup)s before buying."
    ) % {
        "clicks": _windows(settings["click_days"]) or _("no time (clicks are not credited)"),
        "sends": _windows(settings["send_days"]) or _("no time (sends are not credited)"),
        "popup": _days(settings["popup_days"]),
    }
