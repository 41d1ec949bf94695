"""Advancing flow enrollments: throughput and queries per batch, on PostgreSQL.

    .venv/bin/python tests/bench/bench_flows.py   # DATABASE_URL defaults to local PostgreSQL
    .venv/bin/python tests/bench/bench_flows.py --total 20000 --rounds 5 --profile

Creates a throwaway test database of its own, makes ``--total`` (default 30,000) due
enrollments in a two-step email flow (contacts and enrollments with ``bulk_create``) and
prints, as min / median over ``--rounds`` (default 3) rounds, and with the load average:

* enrollments per second through ``advance_due`` (claim, read the batch's steps and
  facts, exit checks, build each message and its context, queue, move the enrollments
  on) in one process, against a baseline in the same round: the same writes in raw SQL,
  no ORM, batch by batch (insert one outbox row per enrollment with ``unnest`` of
  column arrays, move the enrollments on with one ``UPDATE``), and the ratio;
* SQL queries per batch at three batch sizes, for a plain email step and for the steps
  that ask more of the shop or the policy (an offer code, the best channel,
  recommendations): constant means the count does not grow with the batch.

``--profile`` adds a pyinstrument profile of one round's ``advance_due`` calls.

Its throwaway database is ``test_omnichannel_bench_flows``: never the services tier's
``test_omnichannel`` nor another bench's, so a bench and a test run can share a server.
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omnichannel_bench")

import django

django.setup()

from datetime import timedelta  # noqa: E402
from decimal import Decimal  # noqa: E402

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from omnichannel.conf import omnichannel_settings  # noqa: E402
from omnichannel.flows.engine import advance_due  # noqa: E402
from omnichannel.models import (  # noqa: E402
    Consent,
    Contact,
    Enrollment,
    Flow,
    Message,
    Step,
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
    first = flow.steps.order_by("position").first()
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
                next_step=first,
                next_step_at=now - timedelta(seconds=1),
            )
            for contact in contacts
        )
        if flow.steps.filter(channel="best").exists():
            Consent.objects.bulk_create(
                Consent(contact=contact, channel="email", status="granted") for contact in contacts
            )
    # As autovacuum would have by the time a live database's enrollments fall due: without
    # statistics the planner takes a table just filled for a few rows.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def reset():
    for model in (Message, Enrollment, Consent, Contact, Flow, DiscountCode):
        model.objects.all().delete()


def timed(work):
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def raw_writes(enrollment_ids):
    """What advancing must write, in raw SQL: one outbox row per enrollment, and the
    enrollments moved on, one statement each per batch."""
    now = timezone.now()
    template = Message(
        channel="email",
        source="flow:welcome:1",
        content={"subject": "Hello {{ contact.first_name }}", "text": "Hello text"},
        context={"flow": {"name": "Welcome", "slug": "welcome"}, "step": {"position": 1}},
        scheduled_at=now,
        expires_at=now + timedelta(days=2),
    )
    columns = [f for f in Message._meta.concrete_fields if not f.primary_key]
    prepared = {
        f.column: f.get_db_prep_save(f.pre_save(template, True), connection) for f in columns
    }
    pairs = list(Enrollment.objects.filter(pk__in=enrollment_ids).values_list("pk", "contact_id"))
    second_step = Step.objects.get(position=1).pk
    size = omnichannel_settings.FLOW_BATCH_SIZE
    names = ", ".join(f'"{f.column}"' for f in columns)
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in columns)
    insert = (
        f"INSERT INTO omnichannel_message ({names}) SELECT * FROM unnest({arrays}) "
        "ON CONFLICT DO NOTHING"
    )
    move_on = (
        "UPDATE omnichannel_enrollment SET next_step_id = %s, next_step_at = _v.at, "
        "locked_until = NULL, locked_by = '' FROM unnest(%s::bigint[], %s::timestamptz[]) "
        "AS _v(id, at) WHERE omnichannel_enrollment.id = _v.id"
    )
    for start in range(0, len(pairs), size):
        chunk = pairs[start : start + size]
        varying = {
            "uuid": [uuid.uuid4() for _ in chunk],
            "idempotency_key": [f"flow:{pk}:1" for pk, _ in chunk],
            "contact_id": [contact_id for _, contact_id in chunk],
            "enrollment_id": [pk for pk, _ in chunk],
        }
        params = [varying.get(f.column) or [prepared[f.column]] * len(chunk) for f in columns]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(insert, params)
            moved = [[pk for pk, _ in chunk], [now + STEPS[1][1]] * len(chunk)]
            cursor.execute(move_on, [second_step, *moved])


def baseline(total):
    """The floor: the same rows written in raw SQL with nothing else to do."""
    make_due(make_flow(steps=STEPS), total)
    ids = list(Enrollment.objects.values_list("pk", flat=True))
    elapsed = timed(lambda: raw_writes(ids))
    assert Message.objects.count() == total
    reset()
    return total / elapsed


def throughput(total, profiler=None):
    make_due(make_flow(steps=STEPS), total)
    owner, queued = worker_id(), 0

    def advance_everything():
        nonlocal queued
        claimed = True
        while claimed:
            report = advance_due(owner=owner)
            claimed, queued = report.claimed, queued + report.queued

    if profiler:
        profiler.start()
    elapsed = timed(advance_everything)
    if profiler:
        profiler.stop()
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


def load():
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def spread(rates):
    return f"min {min(rates):8.0f}  median {statistics.median(rates):8.0f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=30_000, help="due enrollments per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile the last round")
    options = parser.parse_args()
    # A database of its own: a test run or another bench may be using test_<name>.
    connection.settings_dict["TEST"]["NAME"] = "test_omnichannel_bench_flows"
    original_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        for i in range(3):
            Product.objects.create(name=f"Product {i}", slug=f"p{i}", price=Decimal("9.90"))
        total, floors, rates, profiler = options.total, [], [], None
        print(f"advancing {total:,} due enrollments, 1 process, PostgreSQL ({load()}):")
        for round_ in range(options.rounds):
            if options.profile and round_ == options.rounds - 1:
                from pyinstrument import Profiler

                profiler = Profiler()
            floors.append(baseline(total))
            rates.append(throughput(total, profiler))
            rate, floor = rates[-1], floors[-1]
            ratio = rate / floor
            print(
                f"  round {round_ + 1}: {rate:6.0f} /s, baseline {floor:6.0f} /s, ratio {ratio:.2f}"
            )
        print(f"  advance_due     {spread(rates)} enrollments/s")
        print(f"  baseline        {spread(floors)} rows/s (the same writes in raw SQL)")
        ratio = statistics.median(rates) / statistics.median(floors)
        print(f"  ratio           {ratio:8.2f} of the baseline (medians); {load()}")
        print("queries per batch (claim .. move on):")
        sizes = (100, 200, 500)
        print(f"  {'step':24s}" + "".join(f"{f'batch {size}':>12s}" for size in sizes))
        for label, (step_fields, content_fields) in VARIANTS.items():
            counts = [queries_per_batch(size, step_fields, content_fields) for size in sizes]
            print(f"  {label:24s}" + "".join(f"{count:12d}" for count in counts))
        if profiler:
            print(profiler.output_text(unicode=False, color=False)[:6000])
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)


if __name__ == "__main__":
    main()
