"""Dispatch throughput against the raw database and django-post-office, on PostgreSQL.

    pip install -e ".[all,test,bench]"
    .venv/bin/python tests/bench/bench_dispatch.py                # throughput + statements
    .venv/bin/python tests/bench/bench_dispatch.py --scale        # + 10k-1M queued, 100k consents
    .venv/bin/python tests/bench/bench_dispatch.py --workers      # + 1, 2 and 4 processes
    .venv/bin/python tests/bench/bench_dispatch.py --latency      # + 100,000 due at once, and raw
    .venv/bin/python tests/bench/bench_dispatch.py --profile      # + where the time goes
    .venv/bin/python tests/bench/bench_dispatch.py --gap          # + hand-over after a busy call

Every figure is printed beside a baseline measured in the same run, min / median over
``--rounds`` rounds, with the machine's load. A round runs every measure once, in turn,
and a ratio is the median of the rounds' own ratios, so a neighbour's burst of load
weighs on both sides of it:

* **raw SQL**: psycopg alone on a table created ``LIKE`` the outbox (same columns, same
  indexes), doing what any exactly-once dispatcher must: claim a batch in one statement,
  mark each message handed over in its own transaction before its provider call, write the
  batch's results in one statement. Also the claim-and-mark alone, without the
  per-message hand-over (the ceiling of a dispatcher that gives up rule 11);
* **django-post-office** ``send_queued`` (a bench-only dependency) on the same database,
  through Django's locmem email backend and through anymail's test backend;
* omnichannel through its own locmem channel, and through the email channel with the same
  two Django email backends as post-office.

Statements per batch are counted at three batch sizes. The throwaway database is
``test_omnichannel_bench_dispatch`` (never the services tier's ``test_omnichannel``).
"""

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omnichannel_bench")

import tests.settings as bench_settings

# The peer is installed for the bench only: its app joins before Django starts.
bench_settings.INSTALLED_APPS = [*bench_settings.INSTALLED_APPS, "post_office"]

import django  # noqa: E402

django.setup()

import logging  # noqa: E402

logging.getLogger("post_office").setLevel(logging.WARNING)  # a line per batch otherwise

import psycopg  # noqa: E402
from django.core import mail  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402
from post_office.mail import send_queued  # noqa: E402
from post_office.models import STATUS as POST_OFFICE_STATUS  # noqa: E402
from post_office.models import Email  # noqa: E402

from omnichannel.channels import locmem  # noqa: E402
from omnichannel.models import Consent, Contact, Message  # noqa: E402
from omnichannel.outbox import dispatch  # noqa: E402

DATABASE = "test_omnichannel_bench_dispatch"
LOCMEM_CHANNEL = "omnichannel.channels.locmem.LocmemBackend"
EMAIL_CHANNEL = "omnichannel.channels.email.EmailBackend"
DJANGO_LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
ANYMAIL_TEST = "anymail.backends.test.EmailBackend"
SUBJECT = "Your cart, Ann"
TEXT = "Hello Ann, 3 items wait for you."
HTML = "<p>Hello Ann</p><p>3 items wait for you.</p>"
CONTENT = {
    "subject": "Your cart, {{ contact.first_name }}",
    "text": "Hello {{ contact.first_name }}, {{ n }} items wait for you. {{ unsubscribe_url }}",
    "html": "<p>Hello {{ contact.first_name }}</p><p>{{ n }} items</p>",
}


def settings_for(channel_backend, email_backend=DJANGO_LOCMEM, **extra):
    settings = django.conf.settings
    return override_settings(
        EMAIL_BACKEND=email_backend,
        ANYMAIL={"SEND_DEFAULTS": {}},
        POST_OFFICE={"BACKENDS": {"default": email_backend}, "BATCH_SIZE": 100},
        OMNICHANNEL={
            **settings.OMNICHANNEL,
            "CHANNEL_BACKENDS": {"email": channel_backend},
            **extra,
        },
    )


# --- the queue ---------------------------------------------------------------------------


def contacts():
    existing = list(Contact.objects.filter(email__startswith="bench-")[:1000])
    return existing or Contact.objects.bulk_create(
        Contact(email=f"bench-{i}@example.com", first_name="Ann") for i in range(1000)
    )


def queue(total, due_in=None, purpose="transactional"):
    # Marketing goes once to each contact (the frequency cap): one consenting contact each.
    people = (
        list(Contact.objects.filter(consents__status="granted").order_by("pk")[:total])
        if purpose == "marketing"
        else contacts()
    )
    now = timezone.now()
    stamp = time.monotonic_ns()
    Message.objects.bulk_create(
        (
            Message(
                contact=people[i % len(people)],
                channel="email",
                purpose=purpose,
                idempotency_key=f"bench:{stamp}:{i}",
                content=CONTENT,
                context={"n": i},
                scheduled_at=now + (due_in(i) if due_in else timedelta(0)),
            )
            for i in range(total)
        ),
        batch_size=2000,
    )


def queue_sql(total):
    """``total`` due messages written by PostgreSQL itself: a million in seconds."""
    person = contacts()[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO omnichannel_message (uuid, idempotency_key, contact_id, channel, "
            "purpose, source, status, priority, scheduled_at, content, context, rendered, "
            '"to", attempts, last_error, provider, provider_message_id, cost_currency, '
            "locked_by, created_at, updated_at) "
            "SELECT gen_random_uuid(), 'bulk:' || g, %s, 'email', 'transactional', '', "
            "'queued', 0, now() - interval '1 second', %s::jsonb, jsonb_build_object('n', g), "
            "'{}', '', 0, '', '', '', '', '', now(), now() FROM generate_series(1, %s) g",
            [person.pk, json.dumps(CONTENT), total],
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE omnichannel_message")


def give_consent(count):
    """``count`` contacts (the bench's own 1,000 among them) with email marketing consent."""
    people = contacts()
    more = count - len(people)
    Contact.objects.bulk_create(
        (Contact(email=f"shop-{i}@example.com") for i in range(more)), batch_size=5000
    )
    Consent.objects.bulk_create(
        (
            Consent(contact_id=pk, channel="email", purpose="marketing", status="granted")
            for pk in Contact.objects.values_list("pk", flat=True).iterator()
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE omnichannel_contact")
        cursor.execute("ANALYZE omnichannel_consent")


def forget_consent():
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE omnichannel_consent")
        cursor.execute("DELETE FROM omnichannel_contact WHERE email LIKE 'shop-%%'")


def reset():
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE omnichannel_deliveryevent, omnichannel_message CASCADE")
        cursor.execute("TRUNCATE post_office_log, post_office_email CASCADE")
    locmem.clear()
    mail.outbox = []


def drain(owner=None, stop_after=None):
    owner = owner or dispatch.worker_id()
    sent = 0
    while (batch := dispatch.dispatch_batch(owner)).claimed:
        sent += batch.sent
        if stop_after and sent >= stop_after:
            break
    return sent


# --- what is measured --------------------------------------------------------------------


def ours(total, channel_backend, email_backend=DJANGO_LOCMEM, purpose="transactional"):
    with settings_for(channel_backend, email_backend):
        queue(total, purpose=purpose)
        started = time.perf_counter()
        sent = drain()
        elapsed = time.perf_counter() - started
    assert sent == total, (sent, total)
    reset()
    return total / elapsed


def post_office(total, email_backend):
    with settings_for(LOCMEM_CHANNEL, email_backend):
        now = timezone.now()
        Email.objects.bulk_create(
            (
                Email(
                    from_email="shop@example.com",
                    to=[f"bench-{i % 1000}@example.com"],
                    subject=SUBJECT,
                    message=TEXT,
                    html_message=HTML,
                    status=POST_OFFICE_STATUS.queued,
                    scheduled_time=now,
                )
                for i in range(total)
            ),
            batch_size=2000,
        )
        started = time.perf_counter()
        sent = 0
        while True:  # send_queued_mail_until_done, without its lock file
            done, failed, _requeued = send_queued(processes=1)
            sent += done
            assert not failed
            if not done:
                break
        elapsed = time.perf_counter() - started
    assert sent == total, (sent, total)
    reset()
    return total / elapsed


RAW_TABLE = "bench_raw_message"


def raw_table(total):
    """``total`` due messages in a table created ``LIKE`` the outbox: same columns and
    indexes, no ORM in the way."""
    queue(total)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
        cursor.execute(f"CREATE TABLE {RAW_TABLE} (LIKE omnichannel_message INCLUDING ALL)")
        cursor.execute(f"INSERT INTO {RAW_TABLE} SELECT * FROM omnichannel_message")
        cursor.execute(f"ANALYZE {RAW_TABLE}")
    reset()


def raw_drain(batch_size, per_message=True, owner="raw"):
    """psycopg alone: claim a batch, hand each message over in its own transaction (its
    send time stamped there, as a provider call right after would), record the batch;
    until nothing is due. Returns how many were sent."""
    settings = connection.settings_dict
    dsn = (
        f"host={settings['HOST']} port={settings['PORT']} user={settings['USER']} dbname={DATABASE}"
    )
    claim = (
        f"UPDATE {RAW_TABLE} SET status = 'sending', locked_by = %(owner)s, "
        "locked_until = now() + interval '2 minutes' WHERE id IN (SELECT id FROM "
        f"{RAW_TABLE} WHERE status = 'queued' AND scheduled_at <= now() "
        "ORDER BY priority DESC, scheduled_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED) RETURNING id"
    )
    hand_over = (
        f"UPDATE {RAW_TABLE} SET attempts = attempts + 1, handed_at = now(), "
        "sent_at = clock_timestamp() WHERE id = %s AND status = 'sending' AND locked_by = %s"
    )
    record = (
        f"UPDATE {RAW_TABLE} SET status = 'sent', sent_at = COALESCE(sent_at, now()), "
        "locked_by = '', locked_until = NULL WHERE id = ANY(%s) AND locked_by = %s"
    )
    sent = 0
    with psycopg.connect(dsn, autocommit=True) as raw_connection:
        cursor = raw_connection.cursor()
        while ids := [
            row[0]
            for row in cursor.execute(claim, {"owner": owner, "limit": batch_size}).fetchall()
        ]:
            if per_message:
                for pk in ids:
                    cursor.execute(hand_over, [pk, owner], prepare=True)
            cursor.execute(record, [ids, owner])
            sent += len(ids)
    return sent


def raw(total, batch_size, per_message=True):
    raw_table(total)
    started = time.perf_counter()
    sent = raw_drain(batch_size, per_message)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {RAW_TABLE}")
    assert sent == total, (sent, total)
    return total / elapsed


def raw_latency(total, processes, batch_size):
    """The raw SQL's due-to-sent delays with ``total`` due at once and ``processes``
    drainers: how long the last one waits when nothing but the per-message hand-over is
    done (the floor under ``latency``)."""
    raw_table(total)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {RAW_TABLE} SET scheduled_at = now()")
    connections.close_all()
    context = multiprocessing.get_context("fork")
    drainers = [
        context.Process(target=raw_drain, args=(batch_size, True, f"raw-{n}"))
        for n in range(processes)
    ]
    for drainer in drainers:
        drainer.start()
    for drainer in drainers:
        drainer.join()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXTRACT(EPOCH FROM sent_at - scheduled_at) FROM {RAW_TABLE} "
            "WHERE status = 'sent' ORDER BY 1"
        )
        delays = [float(delay) for (delay,) in cursor.fetchall()]
        cursor.execute(f"DROP TABLE {RAW_TABLE}")
    assert len(delays) == total, len(delays)
    return delays


def statements_per_batch(batch_size):
    with settings_for(LOCMEM_CHANNEL, DISPATCH_BATCH_SIZE=batch_size):
        queue(batch_size)
        with CaptureQueriesContext(connection) as queries:
            report = dispatch.dispatch_batch(dispatch.worker_id())
        assert report.sent == batch_size
    reset()
    # The hand-overs go to psycopg directly (prepared statements): one per message.
    return len(queries), batch_size


def hand_over_after_gap(total, gap):
    """Milliseconds per hand-over when each provider call keeps the worker busy for ``gap``
    seconds (a spinning locmem call, as building a MIME message does): the same statement
    with the same plan, so what grows is PostgreSQL's backend waking from idle."""
    spent = []
    real_hand_over, real_call = dispatch.hand_over, locmem.LocmemBackend.call_provider

    def timed_hand_over(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real_hand_over(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    def busy_call(self, payload, message):
        until = time.perf_counter() + gap
        while time.perf_counter() < until:
            pass
        return real_call(self, payload, message)

    dispatch.hand_over, locmem.LocmemBackend.call_provider = timed_hand_over, busy_call
    try:
        ours(total, LOCMEM_CHANNEL)
    finally:
        dispatch.hand_over, locmem.LocmemBackend.call_provider = real_hand_over, real_call
    return 1000 * sum(spent) / len(spent)


def _worker(stop_after):
    connections.close_all()
    with settings_for(LOCMEM_CHANNEL):
        drain(stop_after=stop_after)


def with_processes(total, processes):
    with settings_for(LOCMEM_CHANNEL):
        queue(total)
    connections.close_all()
    context = multiprocessing.get_context("fork")
    started = time.perf_counter()
    workers = [context.Process(target=_worker, args=(None,)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    sent = Message.objects.filter(status="sent").count()
    assert sent == total, (sent, total)
    reset()
    return total / elapsed


def at_scale(queued, drained):
    """Drain ``drained`` messages while ``queued`` are due: the claim must stay flat."""
    with settings_for(LOCMEM_CHANNEL):
        queue_sql(queued)
        started = time.perf_counter()
        sent = drain(stop_after=drained)
        elapsed = time.perf_counter() - started
    reset()
    return sent / elapsed


def latency(total, processes):
    """``total`` messages due at once, ``processes`` sweepers: due-to-sent per message."""
    with settings_for(LOCMEM_CHANNEL):
        queue(total)
    # Due when the sweepers start, not while the bulk insert was still writing them.
    Message.objects.update(scheduled_at=timezone.now())
    connections.close_all()
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_worker, args=(None,)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    delays = sorted(
        (sent - due).total_seconds()
        for due, sent in Message.objects.filter(status="sent").values_list(
            "scheduled_at", "sent_at"
        )
    )
    assert len(delays) == total, len(delays)
    reset()
    return delays


# --- the report --------------------------------------------------------------------------


def rounds(measure, count):
    return [measure() for _ in range(count)]


def line(label, figures, baseline=None):
    """Min and median of ``figures``; against ``baseline`` (the same rounds' figures, or
    None), the median of the round-by-round ratios."""
    text = f"  {label:<44} min {min(figures):7.0f}   median {statistics.median(figures):7.0f} msg/s"
    if baseline:
        ratios = [mine / theirs for mine, theirs in zip(figures, baseline, strict=True)]
        text += f"   {statistics.median(ratios):5.2f}x"
    print(text)


def load():
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", action="store_true")
    parser.add_argument("--workers", action="store_true")
    parser.add_argument("--latency", action="store_true")
    parser.add_argument("--latency-total", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--gap", action="store_true")
    args = parser.parse_args()
    total, count = args.total, args.rounds

    connection.settings_dict["TEST"]["NAME"] = DATABASE
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    batch = django.conf.settings.OMNICHANNEL.get("DISPATCH_BATCH_SIZE", 200)
    try:
        print(f"dispatch, {total} messages a round, {count} rounds, 1 process ({load()})")
        # Each round runs every measure once, in turn, so a baseline and what is compared
        # with it share the machine's state; the ratios are taken round by round.
        measures = {
            "raw": lambda: raw(total, batch),
            "raw claim": lambda: raw(total, batch, False),
            "ours": lambda: ours(total, LOCMEM_CHANNEL),
            "post-office": lambda: post_office(total, DJANGO_LOCMEM),
            "ours email": lambda: ours(total, EMAIL_CHANNEL, DJANGO_LOCMEM),
            "post-office anymail": lambda: post_office(total, ANYMAIL_TEST),
            "ours anymail": lambda: ours(total, EMAIL_CHANNEL, ANYMAIL_TEST),
        }
        runs = {name: [] for name in measures}
        for _ in range(count):
            for name, measure in measures.items():
                runs[name].append(measure())
        line(f"raw SQL: claim, hand over each, record (batch {batch})", runs["raw"])
        line("raw SQL: claim and record only (no hand-over)", runs["raw claim"])
        line("omnichannel, locmem channel   (vs raw SQL)", runs["ours"], runs["raw"])
        line("post-office, Django locmem email backend", runs["post-office"])
        line("omnichannel, locmem channel   (vs post-office)", runs["ours"], runs["post-office"])
        line("omnichannel, Django locmem email backend", runs["ours email"], runs["post-office"])
        line("post-office, anymail test backend", runs["post-office anymail"])
        line(
            "omnichannel, anymail test backend",
            runs["ours anymail"],
            runs["post-office anymail"],
        )
        print(f"  (ratios: median of the rounds' own ratios; {load()})")
        print(f"statements per batch, locmem channel ({load()})")
        for size in (100, 200, 500):
            statements, hand_overs = statements_per_batch(size)
            print(f"  batch of {size:4d}: {statements:3d} statements + {hand_overs} hand-overs")
        if args.scale:
            print(f"10,000 drained while N are due ({load()})")
            for queued in (10_000, 100_000, 1_000_000):
                line(f"{queued:>9,} queued", rounds(lambda q=queued: at_scale(q, 10_000), count))
            print(f"{total:,} marketing messages while N contacts have given consent ({load()})")
            for consenting in (total, 100_000):
                give_consent(consenting)
                line(
                    f"{consenting:>9,} with consent",
                    rounds(lambda: ours(total, LOCMEM_CHANNEL, purpose="marketing"), count),
                )
                forget_consent()
        if args.workers:
            print(f"{total * 2} messages, N processes ({load()})")
            single = None
            for processes in (1, 2, 4):
                figures = rounds(lambda p=processes: with_processes(total * 2, p), count)
                line(f"{processes} process(es)", figures, single)
                single = single or figures
        if args.latency:
            print(f"due-to-sent, {args.latency_total:,} due at once, 4 processes ({load()})")
            for label, delays in (
                ("raw SQL (the floor)", raw_latency(args.latency_total, 4, batch)),
                ("omnichannel, locmem channel", latency(args.latency_total, 4)),
            ):
                p95 = delays[int(len(delays) * 0.95) - 1]
                print(
                    f"  {label:<30} p50 {statistics.median(delays):6.1f} s   "
                    f"p95 {p95:6.1f} s   last {delays[-1]:6.1f} s"
                )
        if args.gap:
            print(f"hand-over, ms per message, after a busy provider call of N ms ({load()})")
            idle = rounds(lambda: hand_over_after_gap(total, 0), count)
            for gap_ms in (0, 0.5, 1.5):
                figures = rounds(lambda g=gap_ms: hand_over_after_gap(total, g / 1000), count)
                ratios = [mine / theirs for mine, theirs in zip(figures, idle, strict=True)]
                print(
                    f"  {gap_ms:3.1f} ms busy: min {min(figures):5.3f}   median "
                    f"{statistics.median(figures):5.3f} ms   {statistics.median(ratios):4.2f}x"
                )
        if args.profile:
            from pyinstrument import Profiler

            for label, config in (
                ("locmem channel", settings_for(LOCMEM_CHANNEL)),
                ("anymail test backend", settings_for(EMAIL_CHANNEL, ANYMAIL_TEST)),
            ):
                with config:
                    queue(total)
                    profiler = Profiler()
                    with profiler:
                        drain()
                reset()
                print(f"profile, {label}, {total} messages")
                print(profiler.output_text(unicode=False, color=False, show_all=False))
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(
            django.conf.settings.DATABASES["default"]["NAME"], verbosity=0
        )


if __name__ == "__main__":
    main()
