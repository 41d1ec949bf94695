"""The contact timeline in the admin: queries and render time per page, on PostgreSQL.

    .venv/bin/python tests/bench/bench_timeline.py   # DATABASE_URL defaults to local PostgreSQL

Creates a throwaway test database with one busy contact (about 10,000 timeline entries
over every source), a quiet one (one or two entries of each kind: the baseline) and
NOISE_CONTACTS other busy contacts (so each index has to pick one contact out of many),
then, as a superuser with the test client, renders the timeline page of each and prints:

* queries per page (the same for 10 and 10,000 entries: one per source, whatever the
  history) and the median render time, for the first page and a deep page (about 5,000
  entries back), and the ratio to the baseline;
* for each source, the scans PostgreSQL's plan of the deep page uses and their time
  (EXPLAIN ANALYZE): an index scan on (contact, time) reads one page worth of rows;

twice: on the schema as migrated, then with the indexes of PROPOSED_INDEXES added (the
second run is skipped once a migration has added them).

Its throwaway database is ``test_omnichannel_bench_timeline``: never the services tier's
``test_omnichannel`` nor another bench's, so a bench and a test run can share a server.
"""

import os
import random
import re
import statistics
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omnichannel_bench")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, models  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from omnichannel.admin.timeline import PAGE_SIZE  # noqa: E402
from omnichannel.contacts.timeline import SOURCES, contact_timeline  # noqa: E402
from omnichannel.models import (  # noqa: E402
    CartSnapshot,
    ConsentEvent,
    Contact,
    DeliveryEvent,
    Enrollment,
    Flow,
    InboundMessage,
    Message,
    PopupEvent,
    PopupSignup,
    Step,
    TrackedOrder,
)
from omnichannel.testing.factories import PopupFactory  # noqa: E402

BUSY = 10_000
QUIET = 10
NOISE_CONTACTS = 10
RENDERS = 15
DEPTH = 5_000

# The indexes the timeline's reads need and the schema lacks. The sources not listed are
# served by an index the schema has (see the plans this bench prints), except opens and
# clicks: a delivery event knows its contact only through its message, so their read
# joins every message of the contact whatever the index (see the plans).
PROPOSED_INDEXES = {
    Message: models.Index(fields=["contact", "created_at"], name="omnichannel_msg_timeline"),
    PopupEvent: models.Index(
        fields=["contact", "created_at"], name="omnichannel_popupevent_timeline"
    ),
    InboundMessage: models.Index(
        fields=["contact", "received_at"], name="omnichannel_inbound_timeline"
    ),
}

# Rows per 100 timeline entries; carts and enrollments count for several entries each.
MIX = {
    "message": 24, "open": 16, "click": 8, "popup": 20, "consent": 8, "reply": 6,
    "cart": 3, "order": 3, "enrollment": 2.5,
}  # fmt: skip
YEAR = timedelta(days=365)


@contextmanager
def given_times(*fields):
    """Let bulk_create store the times given to auto_now_add columns (history is old)."""
    for field in fields:
        field.auto_now_add = False
    try:
        yield
    finally:
        for field in fields:
            field.auto_now_add = True


def auto_now_fields():
    models_and_names = [
        (Message, "created_at"),
        (PopupEvent, "created_at"),
        (ConsentEvent, "created_at"),
        (InboundMessage, "received_at"),
        (CartSnapshot, "created_at"),
    ]
    return [model._meta.get_field(name) for model, name in models_and_names]


def fill(contact, entries, refs, rng):
    """About ``entries`` timeline entries for ``contact``, spread over the last year."""
    now = timezone.now()

    def moments(share):
        count = max(1, round(entries * share / 100))
        return [now - YEAR * rng.random() for _ in range(count)]

    def key():
        return uuid.uuid4().hex

    messages = Message.objects.bulk_create(
        Message(
            contact=contact, channel=rng.choice(("email", "sms", "push")), step=refs["step"],
            idempotency_key=key(), scheduled_at=at, created_at=at, status="delivered",
            rendered={"subject": f"Offer {n}", "html": "<p>" + "x" * 4000 + "</p>"},
        )
        for n, at in enumerate(moments(MIX["message"]))
    )  # fmt: skip
    DeliveryEvent.objects.bulk_create(
        DeliveryEvent(message=m, kind=kind, occurred_at=m.created_at + timedelta(seconds=s))
        for m in messages
        for kind, s in (("sent", 1), ("delivered", 5))
    )
    for kind in ("open", "click"):
        DeliveryEvent.objects.bulk_create(
            DeliveryEvent(
                message=(m := rng.choice(messages)),
                kind="opened" if kind == "open" else "clicked",
                occurred_at=m.created_at + timedelta(minutes=rng.randint(1, 600)),
                detail="https://shop.example.com/products/mug/",
            )
            for _ in moments(MIX[kind])
        )
    PopupEvent.objects.bulk_create(
        PopupEvent(
            popup=refs["popup"], variant=refs["variant"], contact=contact, created_at=at,
            kind=rng.choice(("impression", "impression", "close", "submit")),
        )
        for at in moments(MIX["popup"])
    )  # fmt: skip
    ConsentEvent.objects.bulk_create(
        ConsentEvent(
            contact=contact, channel=rng.choice(("email", "sms")), purpose="marketing",
            status=rng.choice(("granted", "withdrawn")), source="bench", created_at=at,
            wording="Yes, email me offers.",
        )
        for at in moments(MIX["consent"])
    )  # fmt: skip
    InboundMessage.objects.bulk_create(
        InboundMessage(
            provider_message_id=key(), channel="sms", contact=contact, from_address="+1",
            to_address="+2", body="Is it dishwasher safe?", received_at=at,
        )
        for at in moments(MIX["reply"])
    )  # fmt: skip
    carts = CartSnapshot.objects.bulk_create(
        CartSnapshot(
            cart_key=key(), contact=contact, currency="EUR", value=25, item_count=2,
            lines=[{"name": "Mug", "quantity": 2}], created_at=at, status="converted",
            last_activity_at=at + timedelta(minutes=20), abandoned_at=at + timedelta(hours=1),
            converted_at=at + timedelta(days=1),
        )
        for at in moments(MIX["cart"])
    )  # fmt: skip
    TrackedOrder.objects.bulk_create(
        TrackedOrder(order_key=key(), contact=contact, total=25, currency="EUR", placed_at=at)
        for at in moments(MIX["order"])
    )
    Enrollment.objects.bulk_create(
        Enrollment(
            flow=refs["step"].flow, contact=contact, cart=rng.choice(carts), trigger_key=key(),
            state="completed", triggered_at=at, ended_at=at + timedelta(days=2),
        )
        for at in moments(MIX["enrollment"])
    )  # fmt: skip
    PopupSignup.objects.create(popup=refs["popup"], contact=contact, completed_at=now - YEAR)


def build():
    """The quiet contact, the busy one, and the noise; returns the two."""
    rng = random.Random(7)
    popup = PopupFactory()
    flow = Flow.objects.create(name="Welcome", slug="welcome", kind="welcome", trigger="signup")
    refs = {
        "popup": popup,
        "variant": popup.variants.get(),
        "step": Step.objects.create(flow=flow, name="Hello", position=0),
    }
    contacts = {}
    with given_times(*auto_now_fields()):
        for name, entries in [("quiet", QUIET), ("busy", BUSY)] + [
            (f"noise-{n}", BUSY) for n in range(NOISE_CONTACTS)
        ]:
            contact = Contact.objects.create(
                email=f"{name}@example.com", signed_up_at=timezone.now() - YEAR
            )
            fill(contact, entries, refs, rng)
            contacts[name] = contact
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return contacts["quiet"], contacts["busy"]


def pages(quiet, busy):
    """(label, contact, cursor) of the pages measured; the first is the baseline."""
    everything = contact_timeline(busy, limit=10**6).entries
    quiet_count = len(contact_timeline(quiet, limit=10**6).entries)
    return [
        (f"baseline: first page, {quiet_count} entries", quiet, None),
        (f"busy: first page, {len(everything)} entries", busy, None),
        (f"busy: deep page, {DEPTH} entries back", busy, everything[DEPTH - 1].cursor),
    ]


def measure(client, measured):
    """Per page: its queries, the median time of the page and of its timeline reads.

    The pages are rendered in turn, RENDERS times, so that all of them see the same
    machine (other work on it slows every page alike).
    """
    results = []
    for _label, contact, cursor in measured:
        url = reverse("admin:omnichannel_contact_timeline", args=[contact.pk])
        query = {"before": str(cursor)} if cursor else {}
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, query)  # and the warm-up: templates, caches
        assert response.status_code == 200, response.status_code
        results.append(
            {"url": url, "query": query, "queries": len(queries), "page": [], "reads": []}
        )
    for _ in range(RENDERS):
        for result, (_label, contact, cursor) in zip(results, measured, strict=True):
            started = time.perf_counter()
            client.get(result["url"], result["query"])
            result["page"].append(time.perf_counter() - started)
            started = time.perf_counter()
            contact_timeline(contact, limit=PAGE_SIZE, before=cursor)
            result["reads"].append(time.perf_counter() - started)
    return [
        (r["queries"], statistics.median(r["page"]), statistics.median(r["reads"])) for r in results
    ]


SCAN = re.compile(
    r"(Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan)(?: Backward)?"
    r"(?: using (\S+))?(?: on (\S+))?"
)


def plans(contact, cursor):
    """For each source of a page: the scans of its plan, and its execution time."""
    for source in SOURCES:
        rows = source.read(
            contact, before=cursor, channels=(), since=None, until=None, limit=PAGE_SIZE + 1
        )
        plan = rows.explain(analyze=True)
        scans = sorted(
            {
                f"{kind} {index}" if index else f"{kind} on {table}"
                for kind, index, table in SCAN.findall(plan)
            }
        )
        took = float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1))
        print(f"    {source.key:15s} {took:6.2f} ms  {'; '.join(scans)}")


def report(client, measured, title):
    print(f"\n== {title}")
    print(f"  {'page':40s} {'queries':>7s} {'page':>9s} {'ratio':>6s} {'reads':>9s}")
    results = measure(client, measured)
    base_queries, base_time, _reads = results[0]
    for (label, _contact, _cursor), (queries, took, reads) in zip(measured, results, strict=True):
        print(
            f"  {label:40s} {queries:7d} {took * 1000:6.1f} ms {took / base_time:6.2f} "
            f"{reads * 1000:6.1f} ms"
        )
        assert queries == base_queries, "the query count must not grow with the history"
    _label, busy, deep = measured[-1]
    print(f"  plans of the deep page, per source (EXPLAIN ANALYZE, {PAGE_SIZE + 1} rows each):")
    plans(busy, deep)


def missing_indexes():
    with connection.cursor() as cursor:
        return {
            model: index
            for model, index in PROPOSED_INDEXES.items()
            if index.name
            not in connection.introspection.get_constraints(cursor, model._meta.db_table)
        }


def add_indexes(indexes):
    with connection.schema_editor() as editor:
        for model, index in indexes.items():
            editor.add_index(model, index)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def main():
    setup_test_environment()
    connection.settings_dict["TEST"]["NAME"] = "test_omnichannel_bench_timeline"
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    settings = django.conf.settings
    try:
        started = time.perf_counter()
        quiet, busy = build()
        print(f"built {Contact.objects.count()} contacts in {time.perf_counter() - started:.0f} s")
        admin = get_user_model().objects.create_superuser("bench", "bench@example.com", "pw")
        client = Client()
        client.force_login(admin)
        measured = pages(quiet, busy)
        report(client, measured, "schema as migrated")
        if missing := missing_indexes():
            add_indexes(missing)
            names = ", ".join(index.name for index in missing.values())
            report(client, measured, f"with the proposed indexes ({names})")
    finally:
        connection.creation.destroy_test_db(settings.DATABASES["default"]["NAME"], verbosity=0)


if __name__ == "__main__":
    main()
