"""The marketing home page with 1,000,000 messages and 100,000 orders, on PostgreSQL.

    .venv/bin/python tests/bench/bench_home.py [--rounds 5]

Creates a throwaway database of its own, ``omni_bench_home``, and fills it with SQL
(``INSERT ... SELECT generate_series``, in seconds, no model instances): 100,000
contacts joined over 180 days from five sources; 20 flows (three with a holdout) and 10
popups; 1,000,000 messages sent over the same 180 days on four channels (SMS with a cost)
and their delivery events (about a third opened, a tenth of those opens by a machine, 5 %
clicked, 1 % bounced, 0.3 % unsubscribed: ~430,000 events); 100,000 orders in three
currencies, 40 % credited to a message (flow, channel) and 10 % to a popup; 30,000
enrollments. Then, ``--rounds`` times, in turn:

* the page rendered through Django's test client as a superuser (session, permission
  check, the figures, the template): the last 30 days by day, and the last 90 days by
  week, with the number of queries the render ran;
* the baseline: the SQL of the render's slowest query, run directly through the cursor.

First without the daily message rollup (``flows.results_rollup``), every day counted live;
then the rollup is built for the 180 days (the backfill, timed), the hourly task's
rebuild of the last 30 days is timed ``--rounds`` times, and the pages are measured again,
past days read from the rollup and today counted live.

Prints min / median of each, with the machine's load (``os.getloadavg()``), and the time
each query of one render took.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omni_bench_home")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from omnichannel.flows.results_rollup import (  # noqa: E402
    ROLLUP_DAYS,
    rebuild_message_days,
    rebuild_recent_message_days,
)
from omnichannel.models import Flow, Popup  # noqa: E402
from omnichannel.testing.factories import PopupFactory  # noqa: E402
from tests.flows.conftest import make_flow  # noqa: E402

DATABASE = "omni_bench_home"
CONTACTS, MESSAGES, ORDERS, ENROLLMENTS = 100_000, 1_000_000, 100_000, 30_000
FLOWS, POPUPS, DAYS = 20, 10, 180
HOME = reverse("admin:omnichannel_marketingresults_changelist")

# Spread over the last DAYS days, newest first: row i lands i * DAYS / rows days ago.
CONTACTS_SQL = """
INSERT INTO omnichannel_contact
    (uuid, email, first_name, last_name, locale, country, time_zone, external_ids,
     attributes, source, created_at, updated_at)
SELECT gen_random_uuid(), 'c' || i || '@example.com', '', '', '', '', '', '{}', '{}',
       (ARRAY['popup:spring', 'checkout', 'signup', 'import', ''])[1 + i %% 5],
       now() - i * %(days)s * interval '1 day' / %(rows)s, now()
FROM generate_series(1, %(rows)s) AS i
"""
MESSAGES_SQL = """
INSERT INTO omnichannel_message
    (uuid, idempotency_key, contact_id, channel, purpose, source, status, priority,
     scheduled_at, content, context, rendered, "to", attempts, last_error, provider,
     provider_message_id, cost, cost_currency, locked_by, sent_at, delivered_at,
     created_at, updated_at)
SELECT gen_random_uuid(), 'bench-' || i, %(first_contact)s + i %% %(contacts)s,
       (ARRAY['email', 'email', 'email', 'sms', 'push', 'whatsapp'])[1 + i %% 6],
       'marketing', 'bench', 'delivered', 0, t, '{}', '{}', '{}', 'x', 1, '', 'bench', '',
       CASE WHEN i %% 6 = 3 THEN 0.0079 END, CASE WHEN i %% 6 = 3 THEN 'USD' ELSE '' END,
       '', t, CASE WHEN i %% 10 <> 0 THEN t + interval '1 minute' END, t, t
FROM (SELECT i, now() - i * %(days)s * interval '1 day' / %(rows)s AS t
      FROM generate_series(1, %(rows)s) AS i) AS spread
"""
# One event row per (message, kind) drawn from the message's id: opens for a third,
# a second, machine, open for a tenth of those, clicks, bounces, unsubscribes.
EVENTS_SQL = """
INSERT INTO omnichannel_deliveryevent
    (message_id, kind, detail, raw, machine, occurred_at, created_at)
SELECT id, kind, '', '{}', machine, sent_at + interval '1 hour', sent_at + interval '1 hour'
FROM omnichannel_message
CROSS JOIN LATERAL (VALUES
    (CASE WHEN id % 3 = 0 THEN 'opened' END, false),
    (CASE WHEN id % 30 = 0 THEN 'opened' END, true),
    (CASE WHEN id % 20 = 0 THEN 'clicked' END, false),
    (CASE WHEN id % 100 = 7 THEN 'bounced' END, false),
    (CASE WHEN id % 300 = 11 THEN 'unsubscribed' END, false)
) AS event(kind, machine)
WHERE kind IS NOT NULL
"""
ORDERS_SQL = """
INSERT INTO omnichannel_trackedorder
    (order_key, contact_id, status, is_purchase, total, currency, placed_at, lines,
     updated_at, attributed_by, attributed_flow_id, attributed_channel, attributed_popup_id)
SELECT 'order-' || i, %(first_contact)s + i %% %(contacts)s, 'paid', i %% 50 <> 0,
       10 + i %% 190, (ARRAY['EUR', 'EUR', 'EUR', 'USD', 'GBP'])[1 + i %% 5], t, '[]', t,
       CASE WHEN i %% 5 < 2 THEN 'click' ELSE '' END,
       CASE WHEN i %% 5 < 2 THEN %(first_flow)s + i %% %(flows)s END,
       CASE WHEN i %% 5 < 2 THEN (ARRAY['email', 'sms', 'push'])[1 + i %% 3] ELSE '' END,
       CASE WHEN i %% 10 = 3 THEN %(first_popup)s + i %% %(popups)s END
FROM (SELECT i, now() - i * %(days)s * interval '1 day' / %(rows)s AS t
      FROM generate_series(1, %(rows)s) AS i) AS spread
"""
ENROLLMENTS_SQL = """
INSERT INTO omnichannel_enrollment
    (uuid, flow_id, contact_id, trigger_key, "trigger", state, exit_reason, variants,
     offer_code, context, triggered_at, enrolled_at, locked_by)
SELECT gen_random_uuid(), %(first_flow)s + i %% 3, %(first_contact)s + i %% %(contacts)s,
       'bench-' || i, 'signup', CASE WHEN i %% 10 = 0 THEN 'held_out' ELSE 'completed' END,
       '', '{}', '', '{}', t, t, ''
FROM (SELECT i, now() - i * %(days)s * interval '1 day' / %(rows)s AS t
      FROM generate_series(1, %(rows)s) AS i) AS spread
"""


def populate():
    started = time.perf_counter()
    for number in range(FLOWS):
        make_flow(name=f"Flow {number}", slug=f"flow-{number}", holdout_percent=10 * (number < 3))
    for _number in range(POPUPS):
        PopupFactory()
    with connection.cursor() as cursor:
        cursor.execute(CONTACTS_SQL, {"rows": CONTACTS, "days": DAYS})
        cursor.execute("SELECT min(id) FROM omnichannel_contact")
        (first_contact,) = cursor.fetchone()
        ids = {
            "first_contact": first_contact,
            "contacts": CONTACTS,
            "first_flow": Flow.objects.order_by("pk").values_list("pk", flat=True)[0],
            "flows": FLOWS,
            "first_popup": Popup.objects.order_by("pk").values_list("pk", flat=True)[0],
            "popups": POPUPS,
            "days": DAYS,
        }
        cursor.execute(MESSAGES_SQL, {**ids, "rows": MESSAGES})
        cursor.execute(EVENTS_SQL)
        cursor.execute(ORDERS_SQL, {**ids, "rows": ORDERS})
        cursor.execute(ENROLLMENTS_SQL, {**ids, "rows": ENROLLMENTS})
        # What autovacuum does to a live table: the statistics, and the visibility map
        # that lets the index-only scans skip the table.
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SELECT count(*) FROM omnichannel_deliveryevent")
        (events,) = cursor.fetchone()
    return time.perf_counter() - started, events


def timed_queries():
    """A wrapper that records (seconds, sql, params) of every query it sees."""
    seen = []

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seen.append((time.perf_counter() - started, sql, params))

    return seen, wrapper


def render(client, query):
    """(seconds, queries, [(seconds, sql, params)]) of one render of the page."""
    seen, wrapper = timed_queries()
    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(wrapper):
        started = time.perf_counter()
        response = client.get(HOME, query)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    return elapsed, len(captured), seen


def raw(sql, params):
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(sql, params)
        cursor.fetchall()
        return time.perf_counter() - started


def load():
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def figures(label, seconds, unit=1000):
    values = [value * unit for value in seconds]
    return f"  {label:<52} min {min(values):7.1f}   median {statistics.median(values):7.1f} ms"


def measure(client, periods, rounds):
    """Print the render and baseline figures of each period."""
    for label, query in periods.items():
        client.get(HOME, query)  # warm: the first render compiles the templates
        renders, baselines, counts = [], [], set()
        for _round in range(rounds):
            elapsed, count, seen = render(client, query)
            renders.append(elapsed)
            counts.add(count)
            slowest = max(seen, key=lambda query: query[0])
            baselines.append(raw(slowest[1], slowest[2]))
        print(figures(f"page render, {label}", renders))
        print(figures("baseline: its slowest query, raw through the cursor", baselines))
        print(f"  queries per render: {', '.join(map(str, sorted(counts)))} ({load()})")
        print("  one render, query by query:")
        for query_seconds, sql, _params in seen:
            print(f"    {query_seconds * 1000:7.1f} ms  {' '.join(sql.split())[:110]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    connection.settings_dict["TEST"]["NAME"] = DATABASE
    original_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        seconds, events = populate()
        print(
            f"{MESSAGES:,} messages, {events:,} delivery events, {ORDERS:,} orders,"
            f" {CONTACTS:,} contacts, {ENROLLMENTS:,} enrollments over {DAYS} days,"
            f" written in {seconds:.0f} s ({load()})"
        )
        boss = get_user_model().objects.create_superuser("boss", "boss@shop.example", "pw")
        client = Client()
        client.force_login(boss)
        today = timezone.localdate()
        periods = {
            "last 30 days by day": {"days": 30},
            "last 90 days by week": {"days": 90, "by": "week"},
        }
        print(f"the marketing home, {args.rounds} rounds, 1 process (up to {today})")
        print("without the daily rollup: every day counted live")
        measure(client, periods, args.rounds)
        started = time.perf_counter()
        rows = rebuild_message_days(today - timedelta(days=DAYS), today - timedelta(days=1))
        print(
            f"backfill: {DAYS} days summarized in {time.perf_counter() - started:.1f} s,"
            f" {rows} rows ({load()})"
        )
        hourly = []
        for _round in range(args.rounds):
            started = time.perf_counter()
            rebuild_recent_message_days()
            hourly.append(time.perf_counter() - started)
        print(figures(f"the hourly task: the last {ROLLUP_DAYS} days rebuilt", hourly))
        print("with the daily rollup: past days from it, today live")
        measure(client, periods, args.rounds)
        print(f"({load()})")
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)


if __name__ == "__main__":
    main()
