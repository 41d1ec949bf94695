"""Flows started by an order: after each purchase, and when an order is delivered.

The order reaches their templates as ``order`` (number, total, currency, status, lines),
read from the ``TrackedOrder`` when the flow starts and kept with the enrollment, so a
message says what was bought even if the shop's order changes later. A delivered order's
lines carry the shop's review links (``ShopAdapter.get_review_url``), asked only when an
active flow will use them.
"""

from ..conf import omnichannel_settings
from ..core.links import absolute_url
from ..integrations.adapter import get_adapter
from ..models.flows import Trigger
from .engine import cart_lines_from_json, trigger, triggered_flows


def order_context(order, *, reviews=False):
    """The ``order`` variable of ``order`` (a ``TrackedOrder``), as JSON."""
    lines = [dict(line) for line in order.lines]
    if reviews:
        adapter = get_adapter()
        for line, cart_line in zip(lines, cart_lines_from_json(order.lines), strict=True):
            url = adapter.get_review_url(order, cart_line)
            line["review_url"] = absolute_url(url) if url else ""
    return {
        "number": order.order_key,
        "total": str(order.total),
        "currency": order.currency,
        "status": order.status,
        "lines": lines,
    }


def is_delivered(status):
    return status in omnichannel_settings.REVIEW_ORDER_STATUSES


def start_order_flows(order, *, became_purchase, previous_status):
    """Enrol the order's contact in the flows its report starts: every purchase starts
    "Places an order"; reaching a ``REVIEW_ORDER_STATUSES`` status (once per order) starts
    "An order is delivered". Returns the enrollments."""
    contact = order.contact
    started = []
    if became_purchase and has_active_flows(Trigger.ORDER_PLACED):
        started += trigger(
            Trigger.ORDER_PLACED,
            contact,
            key=f"order:{order.pk}",
            triggered_at=order.placed_at,
            context={"order": order_context(order)},
        )
    delivered = is_delivered(order.status) and not is_delivered(previous_status)
    if delivered and order.is_purchase and has_active_flows(Trigger.ORDER_DELIVERED):
        started += trigger(
            Trigger.ORDER_DELIVERED,
            contact,
            key=f"delivered:{order.pk}",
            context={"order": order_context(order, reviews=True)},
        )
    return started


def has_active_flows(trigger_name):
    return triggered_flows(trigger_name).exists()
