"""Celery tasks: thin wrappers that call the app's functions.

A task message is only ever a wake-up: the work it does is found in the database, so a
lost or duplicated message loses or repeats nothing. Nothing customer-facing is ever
scheduled with a Celery ETA or countdown.
"""

from celery import shared_task

from .browsing import abandonment as browsing
from .browsing import news
from .carts import carts, recovery, winback
from .contacts.privacy import retention
from .flows import ab_tests, results_rollup
from .flows import engine as flows
from .outbox.tasks import dispatch_due  # noqa: F401  (the worker finds every task here)
from .outgoing.tasks import deliver_webhooks  # noqa: F401


@shared_task(name="omnichannel.advance_flows", ignore_result=True)
def advance_flows():
    """Move due flow enrollments on, queueing their messages (beat, with the sweep)."""
    return flows.advance_all().__dict__


@shared_task(name="omnichannel.detect_abandoned_carts", ignore_result=True)
def detect_abandoned_carts():
    """Mark idle carts abandoned and start their recovery flows."""
    return recovery.detect_all().__dict__


@shared_task(name="omnichannel.detect_lapsed_buyers", ignore_result=True)
def detect_lapsed_buyers():
    """Start the win-back flows of buyers whose last purchase is due a win-back."""
    return winback.detect_all().__dict__


@shared_task(name="omnichannel.detect_abandoned_browsing", ignore_result=True)
def detect_abandoned_browsing():
    """Start browse-abandonment flows for contacts who stopped browsing without a cart."""
    return browsing.detect_all().__dict__


@shared_task(name="omnichannel.announce_product_news", ignore_result=True)
def announce_product_news():
    """Tell the contacts who care that a product is back in stock or costs less."""
    return news.announce_all().__dict__


@shared_task(name="omnichannel.expire_stale_carts", ignore_result=True)
def expire_stale_carts():
    """Mark carts idle longer than ``CART_EXPIRY_DAYS`` as expired; returns how many."""
    return carts.expire_stale_carts()


@shared_task(name="omnichannel.decide_ab_tests", ignore_result=True)
def decide_ab_tests():
    """Judge the A/B tests; promote or note their winners (``AB_TESTS``)."""
    return ab_tests.decide_all().__dict__


@shared_task(name="omnichannel.summarize_messages", ignore_result=True)
def summarize_messages():
    """Rebuild the marketing home's daily message rollup of the last days (beat, hourly)."""
    return results_rollup.rebuild_recent_message_days()


@shared_task(name="omnichannel.purge_old_data", ignore_result=True)
def purge_old_data():
    """Delete history older than ``RETENTION_DAYS``, in short batches (beat, daily)."""
    return retention.purge_old_data()
