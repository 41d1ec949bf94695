"""Detecting abandoned carts among a million tracked ones, on PostgreSQL.

    .venv/bin/python tests/bench/bench_recovery.py [--profile]

Creates a throwaway test database of its own holding 100,000 tracked carts: 10,000 that
have just gone idle (each with a contact who gave email consent), and 90,000 others that
are open and recent, converted or expired (written with ``INSERT ... SELECT
generate_series``, in seconds). One cart-recovery flow is active. It measures, grows the
table to 1,000,000 carts (none of the new ones idle) and measures again, so the figures
show whether the claim stays flat with the table's size. Prints, at both sizes:

* the plan of the claim query (``EXPLAIN ANALYZE``) and whether it reads the partial
  index ``omnichannel_cart_open_idle``;
* carts per second through ``detect_abandoned`` (the claim deciding reachability and
  returning the carts, enrolment) run in a loop until nothing is left, against a
  baseline in the same run: claiming the same batches with a plain ``SELECT ... FOR
  UPDATE SKIP LOCKED`` and marking them abandoned with one ``UPDATE``, no enrolment;

and then, at 1,000,000 carts, SQL queries (and milliseconds) per batch at several
``CART_DETECTION_BATCH_SIZE`` values: constant means the count does not grow with the
batch.

Detection and baseline run ``RUNS`` times each, alternating; the best run and the median
are printed: on a shared machine the slowest runs measure the neighbours. ``--profile``
adds a pyinstrument profile of one full detection run.

Its throwaway database is ``test_omnichannel_bench_carts``: never the services tier's
``test_omnichannel`` nor another bench's, so a bench and a test run can share a server.
"""

import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omnichannel_bench_carts")

import django
import pyinstrument

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from omnichannel.carts.carts import idle_time  # noqa: E402
from omnichannel.carts.recovery import claim_idle, detect_abandoned  # noqa: E402
from omnichannel.conf import omnichannel_settings  # noqa: E402
from omnichannel.models import CartSnapshot, Enrollment  # noqa: E402
from tests.flows.conftest import make_flow  # noqa: E402

TOTAL = 1_000_000
SMALL = 100_000  # the same idle carts among a tenth as many: the claim must not care
IDLE = 10_000
BATCH_SIZES = (100, 200, 500, 1000)
RUNS = 3
INDEX = "omnichannel_cart_open_idle"
LINES = '[{"product_id": "1", "name": "Mug", "quantity": 2, "unit_price": "12.50", "sku": "MUG"}]'

# Carts 1..IDLE: idle for 40 to 57 minutes, each with its own consenting contact. The
# others, by i % 3: open and touched in the last five minutes (so they stay fresh for the
# bench's duration), converted, or expired; none has a contact.
CARTS_SQL = f"""
INSERT INTO omnichannel_cartsnapshot
    (uuid, cart_key, contact_id, lines, item_count, value, currency, status,
     last_activity_at, abandoned_at, converted_at, created_at)
SELECT gen_random_uuid(), 'bench-' || i,
       CASE WHEN i <= %(idle)s THEN %(first_contact)s + i - 1 END,
       '{LINES}'::jsonb, 2, 25.00, 'EUR',
       CASE WHEN i <= %(idle)s OR i %% 3 = 0 THEN 'open'
            WHEN i %% 3 = 1 THEN 'converted' ELSE 'expired' END,
       CASE WHEN i <= %(idle)s THEN now() - interval '40 minutes' - i * interval '100 ms'
            WHEN i %% 3 = 0 THEN now() - (i %% 300) * interval '1 second'
            ELSE now() - interval '3 days' - (i %% 86400) * interval '1 second' END,
       NULL,
       CASE WHEN i > %(idle)s AND i %% 3 = 1 THEN now() - interval '2 days' END,
       now()
FROM generate_series(%(first)s, %(total)s) AS i
"""
CONTACTS_SQL = """
INSERT INTO omnichannel_contact
    (uuid, email, first_name, last_name, locale, country, time_zone, external_ids,
     attributes, source, created_at, updated_at)
SELECT gen_random_uuid(), 'idle' || i || '@example.com', 'Ann', '', '', '', '', '{}', '{}',
       'bench', now(), now()
FROM generate_series(1, %(idle)s) AS i
RETURNING id
"""
CONSENTS_SQL = """
INSERT INTO omnichannel_consent
    (contact_id, channel, purpose, status, source, wording, user_agent, granted_at, updated_at)
SELECT id, 'email', 'marketing', 'granted', 'bench', 'Email me', '', now(), now()
FROM omnichannel_contact
"""
# Back to the starting line: the idle carts open again, no enrollment.
RESET_SQL = """
UPDATE omnichannel_cartsnapshot SET status = 'open', abandoned_at = NULL
WHERE contact_id IS NOT NULL
"""
# The baseline: the same claim as ``claim_idle`` by hand, without reading anything back.
CLAIM_SQL = """
SELECT id FROM omnichannel_cartsnapshot
WHERE status = 'open' AND last_activity_at < %s
ORDER BY last_activity_at LIMIT %s FOR UPDATE SKIP LOCKED
"""
MARK_SQL = """
UPDATE omnichannel_cartsnapshot SET status = 'abandoned', abandoned_at = %s WHERE id = ANY(%s)
"""


def populate(total):
    """The flow, the idle carts' contacts and carts 1..``total``."""
    started = time.perf_counter()
    make_flow(
        name="Cart recovery",
        slug="cart-recovery",
        kind="cart_recovery",
        trigger="cart_abandoned",
        exit_goals=["ordered", "cart_emptied"],
        steps=[("Reminder", timedelta(hours=1), "email"), ("Offer", timedelta(hours=23), "email")],
    )
    with connection.cursor() as cursor:
        cursor.execute(CONTACTS_SQL, {"idle": IDLE})
        first_contact = min(row[0] for row in cursor.fetchall())
        cursor.execute(CONSENTS_SQL)
        carts = {"idle": IDLE, "first": 1, "total": total, "first_contact": first_contact}
        cursor.execute(CARTS_SQL, carts)
        cursor.execute("ANALYZE")
    return time.perf_counter() - started, first_contact


def grow(total, first_contact):
    """More carts, none of them idle: ``total`` in all."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        first = CartSnapshot.objects.count() + 1
        carts = {"idle": IDLE, "first": first, "total": total, "first_contact": first_contact}
        cursor.execute(CARTS_SQL, carts)
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def reset():
    Enrollment.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(RESET_SQL)
        # The deleted enrollments' index entries would slow every later run's re-entry
        # check; a live table has no pile of dead rows per contact.
        cursor.execute("VACUUM ANALYZE omnichannel_enrollment")


def explain_claim():
    """The plan PostgreSQL runs for ``claim_idle``'s claim, captured from the real call."""
    captured = []

    def capture(execute, sql, params, many, context):
        if "FOR UPDATE" in sql and not captured:
            captured.append((sql, params))
        return execute(sql, params, many, context)

    with transaction.atomic():
        with connection.execute_wrapper(capture):
            claim_idle(200, timezone.now())
        sql, params = captured[0]
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            plan = [row[0] for row in cursor.fetchall()]
        transaction.set_rollback(True)
    return plan


def baseline(batch_size):
    """Carts per second claiming and marking the idle carts, nothing else."""
    started, claimed = time.perf_counter(), 0
    while True:
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(CLAIM_SQL, [now - idle_time(), batch_size])
            ids = [row[0] for row in cursor.fetchall()]
            cursor.execute(MARK_SQL, [now, ids])
        claimed += len(ids)
        if len(ids) < batch_size:
            break
    elapsed = time.perf_counter() - started
    assert claimed == IDLE, claimed
    return elapsed


def detection():
    """``detect_abandoned`` until nothing is left: (seconds, batches, enrolled)."""
    started, abandoned, enrolled, batches = time.perf_counter(), 0, 0, 0
    while True:
        report = detect_abandoned()
        abandoned += report.abandoned
        enrolled += report.enrolled
        batches += 1
        if not report.abandoned:
            break
    elapsed = time.perf_counter() - started
    assert abandoned == IDLE, abandoned
    return elapsed, batches, enrolled


def one_batch(batch_size):
    """(queries, milliseconds) of one detection batch of ``batch_size`` carts."""
    reset()
    sized = {**settings.OMNICHANNEL, "CART_DETECTION_BATCH_SIZE": batch_size}
    with override_settings(OMNICHANNEL=sized), CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        report = detect_abandoned()
        elapsed = time.perf_counter() - started
    assert report.abandoned == report.enrolled == batch_size, report
    return len(queries), elapsed * 1000


def profile():
    reset()
    profiler = pyinstrument.Profiler()
    profiler.start()
    detection()
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))


def measure(total):
    """Plan, detection against its baseline, at ``total`` tracked carts."""
    reset()  # the plan of a claim that finds its 200 idle carts
    plan = explain_claim()
    executed = next(line for line in plan if line.startswith("Execution Time"))
    print(f"claim query plan at {total:,} carts (EXPLAIN ANALYZE, batch of 200):")
    print("\n".join(f"  {line}" for line in plan))
    print(f"  uses the partial index {INDEX}: {'yes' if INDEX in ' '.join(plan) else 'NO'}")
    batch_size = omnichannel_settings.CART_DETECTION_BATCH_SIZE
    floors, runs = [], []
    for _run in range(RUNS):
        reset()
        floors.append(baseline(batch_size))
        reset()
        runs.append(detection())
    seconds = sorted(run[0] for run in runs)
    elapsed, batches, enrolled = min(runs)
    floor = min(floors)
    print(
        f"detection of {IDLE:,} idle carts among {total:,}, batches of {batch_size},"
        f" 1 process, {RUNS} runs:"
    )
    print(
        f"  detect_abandoned {elapsed:7.2f} s  {IDLE / elapsed:8.0f} carts/s  (median"
        f" {median(seconds):.2f} s)"
    )
    print(f"                   {batches} batches, {enrolled:,} enrollments created")
    print(
        f"  baseline         {floor:7.2f} s  {IDLE / floor:8.0f} carts/s  (median"
        f" {median(floors):.2f} s; claim + mark only)"
    )
    print(f"  ratio            {floor / elapsed:7.2f} of the baseline's rate (best runs)")
    print(
        f"  all runs (s)     detection {', '.join(f'{r[0]:.2f}' for r in runs)};"
        f" baseline {', '.join(f'{f:.2f}' for f in floors)}"
    )
    return executed, floor, median(floors), elapsed, median(seconds)


def main():
    # A database of its own: a test run or another bench may be using test_<name>.
    connection.settings_dict["TEST"]["NAME"] = "test_omnichannel_bench_carts"
    original_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        figures = {}
        seconds, first_contact = populate(SMALL)
        print(f"{SMALL:,} tracked carts, {IDLE:,} newly idle, written in {seconds:.1f} s")
        figures[SMALL] = measure(SMALL)
        seconds = grow(TOTAL, first_contact)
        print(f"grown to {TOTAL:,} tracked carts (no more idle ones) in {seconds:.1f} s")
        figures[TOTAL] = measure(TOTAL)
        print("flat with the table's size? (best / median seconds for all 10,000 idle carts)")
        for total, (executed, floor, floor_median, elapsed, elapsed_median) in figures.items():
            print(
                f"  {total:9,} carts   claim query {executed.split(': ')[1]:>9}"
                f"   baseline {floor:.2f} / {floor_median:.2f} s"
                f"   detection {elapsed:.2f} / {elapsed_median:.2f} s"
            )
        print("queries per batch (claim .. enrol; BEGIN and COMMIT included):")
        for size in BATCH_SIZES:
            count, milliseconds = one_batch(size)
            print(f"  batch of {size:5d}   {count:3d} queries   {milliseconds:7.1f} ms")
        if "--profile" in sys.argv:
            profile()
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)


if __name__ == "__main__":
    main()
