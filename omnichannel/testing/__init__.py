"""What a shop needs to test its integration without importing the app's internals.

    from omnichannel.testing import ContactFactory, FakeAdapter, LOCMEM_BACKENDS, run_due, sent

* factories: ``ContactFactory``, ``CartSnapshotFactory``, ``PopupFactory``;
* ``FakeAdapter`` (with ``FakeCart``, ``FakeOrder``, ``cart_line``): a shop adapter over
  plain objects;
* ``LOCMEM_BACKENDS``: every channel on the in-memory backend, for
  ``OMNICHANNEL["CHANNEL_BACKENDS"]``; ``sent`` is the list of what it sent (channel,
  address, rendered parts, message UUID) and ``clear_sent()`` empties it;
* ``run_due()``: what Celery beat would do next, done now.
"""

from dataclasses import dataclass

from ..browsing import abandonment as browsing
from ..browsing import news
from ..carts import recovery, winback
from ..channels.locmem import clear as clear_sent
from ..channels.locmem import outbox as sent
from ..conf import CHANNELS
from ..flows import engine
from ..outbox import dispatch
from .adapter import FakeAdapter, FakeCart, FakeOrder, cart_line
from .factories import CartSnapshotFactory, ContactFactory, PopupFactory

LOCMEM_BACKENDS = dict.fromkeys(CHANNELS, "omnichannel.channels.locmem.LocmemBackend")

__all__ = [
    "LOCMEM_BACKENDS",
    "CartSnapshotFactory",
    "ContactFactory",
    "FakeAdapter",
    "FakeCart",
    "FakeOrder",
    "PopupFactory",
    "RunReport",
    "cart_line",
    "clear_sent",
    "run_due",
    "sent",
]


@dataclass
class RunReport:
    """What ``run_due()`` did, summed over its rounds."""

    abandoned: int = 0  # carts found abandoned (and enrolled in recovery flows if due)
    lapsed: int = 0  # buyers found lapsed (and enrolled in win-back flows if due)
    browsing: int = 0  # contacts found to have stopped browsing (enrolled if due)
    queued: int = 0  # flow messages queued
    sent: int = 0  # messages handed to a backend
    rounds: int = 0


def run_due(max_rounds=10):
    """Detect abandoned carts, lapsed buyers and ended browsing, announce product news,
    advance due flow steps and send due messages, until a round finds nothing to do (or
    ``max_rounds`` is reached). Only what is due now: to get to a later step, move the clock
    (e.g. ``time_machine``) and call it again."""
    report = RunReport()
    for _round in range(max_rounds):
        detected = recovery.detect_all()
        lapsed = winback.detect_all()
        browsed = browsing.detect_all()
        announced = news.announce_all()
        advanced = engine.advance_all()
        swept = dispatch.sweep()
        report.rounds += 1
        report.abandoned += detected.abandoned
        report.lapsed += lapsed.claimed
        report.browsing += browsed.contacts
        report.queued += advanced.queued
        report.sent += swept.sent
        found = (detected.abandoned, lapsed.claimed, browsed.claimed, announced.claimed)
        if not (any(found) or advanced.claimed or swept.claimed):
            break
    return report
