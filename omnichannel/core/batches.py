"""Reports that add up, and running batches until the work or the time runs out.

The dispatcher, the flow sweeper and the cart detection all work the same way: claim a
batch, process it, and go on while batches come back full and the task's time budget
lasts, so one beat task never runs longer than the next one's interval allows for.
"""

import time
from dataclasses import dataclass, fields

from ..conf import omnichannel_settings


@dataclass
class Report:
    """Counters of one batch; ``add`` sums another report of the same kind into this one."""

    def add(self, other):
        for counter in fields(self):
            setattr(self, counter.name, getattr(self, counter.name) + getattr(other, counter.name))
        return self


def run_batches(run_batch, total, size_of, time_budget=None, batch_size=None):
    """Call ``run_batch()`` until a batch is not full or the time budget is spent.

    Each report is added into ``total``, which is returned; ``size_of(report)`` is how
    many rows that batch claimed, out of ``batch_size``. Each loop passes its own budget
    and batch size; left out, they are the dispatcher's.
    """
    budget = time_budget or omnichannel_settings.DISPATCH_TIME_BUDGET_SECONDS
    full = batch_size or omnichannel_settings.DISPATCH_BATCH_SIZE
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        report = run_batch()
        total.add(report)
        if size_of(report) < full:
            break
    return total
