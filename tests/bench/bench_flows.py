"""Advancing flow enrollments: throughput and queries per batch, on PostgreSQL.

    .venv/bin/python tests/bench/bench_flows.py   # DATABASE_URL defaults to local PostgreSQL

Creates a throwaway test database of its own, makes 100,000 due enrollments in a
three-step email flow (contacts and enrollments with ``bulk_create``) and prints:

* enrollments per second through ``advance_due`` (claim, read the batch's steps and
  facts, exit checks, build each message and its context, queue, move the enrollments
  on) in one process, against a baseline in the same run: inserting the same number of
  similar outbox rows with a plain ``Message.objects.bulk_create``;
* SQL queries per batch at three batch sizes, for a plain email step and for the steps
  that ask more of the shop or the policy (an offer code, the best channel,
  recommendations): constant means the count does not grow with the batch.

Its throwaway database is ``test_omnichannel_bench_flows``: never the services tier's
``test_omnichannel`` nor another bench's, so a bench and a test run can share a server.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omnichannel_bench")

import django

django.setup()

from datetime import timedelta  # noqa: E402
from decimal import Decimal  # noqa: E402

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from omnichannel.flows.engine import advance_due  # noqa: E402
from omnichannel.models import (  # noqa: E402
    Consent,
    Contact,
    Enrollment,
    Flow,
    Message,
    StepContent,
)
from omnichannel.outbox.dispatch import worker_id  # noqa: E402
from sample_shop.shop.models import DiscountCode, Product  # noqa: E402
from tests.flows.conftest import make_flow  # noqa: E402

TOTAL = 100_000
CHUNK = 5_000
STEPS = [("Hello", timedelta(0), "email"), ("Reminder", timedelta(days=2), "email")]
# A first step of each kind that asks for more than the flow's own rows:
# label -> (Step fields, StepContent fields).
VARIANTS = {
    "plain email step": ({}, {}),
    "with an offer code": ({"offer_kind": "percent", "offer_value": Decimal("10")}, {}),
    "best channel": ({"channel": "best"}, {}),
    "with recommendations": ({}, {"text": "Hello {{ recommendations }}"}),
}


def make_due(flow, total):
    """``total`` contacts, each with a due enrollment at the flow's first step."""
    now = timezone.now()
    stamp = time.monotonic_ns()
    for start in range(0, total, CHUNK):
        contacts = Contact.objects.bulk_create(
            Contact(email=f"bench{stamp}-{i}@example.com", first_name="Ann")
            for i in range(start, min(start + CHUNK, total))
        )
        Enrollment.objects.bulk_create(
            Enrollment(
                flow=flow,
                contact=contact,
                trigger_key=f"bench:{contact.pk}",
                triggered_at=now,
                next_step_at=now - timedelta(seconds=1),
            )
            for contact in contacts
        )
        if flow.steps.filter(channel="best").exists():
            Consent.objects.bulk_create(
                Consent(contact=contact, channel="email", status="granted") for contact in contacts
            )


def reset():
    for model in (Message, Enrollment, Consent, Contact, Flow, DiscountCode):
        model.objects.all().delete()


def timed(work):
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def baseline(total):
    """The floor: the same number of outbox rows, inserted with nothing else to do."""
    contact = Contact.objects.create(email="floor@example.com")
    now = timezone.now()
    rows = [
        Message(
            contact=contact,
            channel="email",
            idempotency_key=f"floor:{i}",
            content={"subject": "Hello {{ contact.first_name }}", "text": "Hello text"},
            context={"flow": {"name": "Welcome", "slug": "welcome"}, "step": {"position": 1}},
            scheduled_at=now,
            expires_at=now + timedelta(days=2),
        )
        for i in range(total)
    ]
    elapsed = timed(lambda: Message.objects.bulk_create(rows, batch_size=500))
    reset()
    return total / elapsed


def throughput(total):
    make_due(make_flow(steps=STEPS), total)
    owner, queued = worker_id(), 0

    def advance_everything():
        nonlocal queued
        claimed = True
        while claimed:
            report = advance_due(owner=owner)
            claimed, queued = report.claimed, queued + report.queued

    elapsed = timed(advance_everything)
    assert queued == total == Message.objects.count(), (queued, total)
    reset()
    return total / elapsed


def queries_per_batch(batch_size, step_fields, content_fields):
    flow = make_flow(steps=STEPS)
    flow.steps.filter(position=0).update(**step_fields)
    StepContent.objects.filter(step__flow=flow, step__position=0).update(**content_fields)
    make_due(flow, batch_size)
    batch_settings = {**settings.OMNICHANNEL, "FLOW_BATCH_SIZE": batch_size}
    with override_settings(OMNICHANNEL=batch_settings), CaptureQueriesContext(connection) as sql:
        report = advance_due(owner=worker_id())
    assert report.claimed == batch_size and report.queued == batch_size, report
    reset()
    return len(sql)


def main():
    # A database of its own: a test run or another bench may be using test_<name>.
    connection.settings_dict["TEST"]["NAME"] = "test_omnichannel_bench_flows"
    original_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        for i in range(3):
            Product.objects.create(name=f"Product {i}", slug=f"p{i}", price=Decimal("9.90"))
        floor = baseline(TOTAL)
        rate = throughput(TOTAL)
        print(f"advancing {TOTAL:,} due enrollments, 1 process, PostgreSQL:")
        print(f"  advance_due     {rate:8.0f} enrollments/s")
        print(f"  baseline        {floor:8.0f} rows/s (Message.objects.bulk_create only)")
        print(f"  ratio           {rate / floor:8.2f} of the baseline")
        print("queries per batch (claim .. move on):")
        sizes = (100, 200, 500)
        print(f"  {'step':24s}" + "".join(f"{f'batch {size}':>12s}" for size in sizes))
        for label, (step_fields, content_fields) in VARIANTS.items():
            counts = [queries_per_batch(size, step_fields, content_fields) for size in sizes]
            print(f"  {label:24s}" + "".join(f"{count:12d}" for count in counts))
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)


if __name__ == "__main__":
    main()
