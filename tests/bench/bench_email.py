"""Email against a real SMTP server on loopback: the dispatcher vs django-post-office.

    .venv/bin/python tests/bench/bench_email.py [--messages 1000] [--rounds 3]

An aiosmtpd server runs in a process of its own on a free 127.0.0.1 port and counts the
SMTP sessions (greetings) and the messages it accepts. Each round sends the same number of
emails through Django's SMTP backend to it twice, on the same PostgreSQL database:

* ours: messages queued in the outbox, sent by the dispatcher (claim, policy, render,
  hand over, send, record), batch after batch, one SMTP session per batch;
* ours without the per-batch session (``EmailBackend.batch_session`` replaced by the base
  class's, which does nothing): one SMTP session per message, as before issue 15;
* the floor: the same emails rendered and sent over one connection with no outbox work
  (no claim, no hand-over, no record), which the dispatcher's database work adds to;
* the baseline: django-post-office's ``send_queued_mail`` (bench-only: its app and
  settings are set up here, not in the test settings), batches of 100 over 5 threads,
  each thread keeping its own connection.

It prints messages per second and SMTP sessions per message for each, min / median over
the rounds, the ratio of the medians and the load average. Queueing is not timed.

Its throwaway database is ``test_omnichannel_bench_email_sessions``: never the services
tier's ``test_omnichannel`` nor another bench's.
"""

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omnichannel_bench")

import django
from django.conf import settings

from tests import settings as test_settings
from tests.smtp_server import serve

DATABASE = "test_omnichannel_bench_email_sessions"
CONTENT = {
    "subject": "Your order, {{ contact.first_name }}",
    "text": "Hello {{ contact.first_name }}, your order {{ n }} is on its way.",
    "html": "<p>Hello {{ contact.first_name }}</p><p>Your order {{ n }} is on its way.</p>",
}


def configure(smtp_port):
    """The test settings plus post-office, sending through the bench's SMTP server."""
    values = {name: getattr(test_settings, name) for name in dir(test_settings) if name.isupper()}
    values.update(
        INSTALLED_APPS=[*test_settings.INSTALLED_APPS, "post_office"],
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=smtp_port,
        EMAIL_TIMEOUT=10,
        POST_OFFICE={"LOG_LEVEL": 0, "CELERY_ENABLED": False, "MESSAGE_ID_ENABLED": False},
        OMNICHANNEL={
            **test_settings.OMNICHANNEL,
            "CHANNEL_BACKENDS": {"email": "omnichannel.channels.email.EmailBackend"},
        },
    )
    settings.configure(**values)
    django.setup()


class Server:
    """The SMTP server's process; ``counts()`` is (sessions, messages) so far."""

    def __init__(self):
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child,), daemon=True)
        self.process.start()
        self.port = self.pipe.recv()

    def counts(self):
        self.pipe.send("count")
        return self.pipe.recv()

    def stop(self):
        self.pipe.send("stop")
        self.process.join(10)


def measure(server, total, queue, send, clear):
    """(messages/s, sessions per message) of ``send()`` over ``total`` queued emails;
    neither ``queue()`` nor ``clear()`` is timed."""
    queue(total)
    sessions_before, messages_before = server.counts()
    started = time.perf_counter()
    send()
    elapsed = time.perf_counter() - started
    sessions, messages = server.counts()
    assert messages - messages_before == total, (messages - messages_before, total)
    clear()
    return total / elapsed, (sessions - sessions_before) / total


def queue_ours(total):
    from django.utils import timezone

    from omnichannel.models import Contact, Message

    contacts = Contact.objects.bulk_create(
        Contact(email=f"bench{time.monotonic_ns()}-{i}@example.com", first_name="Ann")
        for i in range(total)
    )
    now = timezone.now()
    Message.objects.bulk_create(
        (
            Message(
                contact=contact,
                channel="email",
                purpose="transactional",
                idempotency_key=f"bench:{time.monotonic_ns()}:{i}",
                content=CONTENT,
                context={"n": i},
                scheduled_at=now,
            )
            for i, contact in enumerate(contacts)
        ),
        batch_size=2000,
    )


def send_ours():
    from omnichannel.outbox import dispatch

    owner = dispatch.worker_id()
    while dispatch.dispatch_batch(owner).claimed:
        pass


def clear_ours():
    from omnichannel.models import Contact, Message

    assert not Message.objects.exclude(status="sent").exists()
    Message.objects.all().delete()
    Contact.objects.all().delete()


def send_ours_one_session_each():
    from omnichannel.channels.base import BaseChannelBackend
    from omnichannel.channels.email import EmailBackend

    per_batch = EmailBackend.batch_session
    EmailBackend.batch_session = BaseChannelBackend.batch_session
    try:
        send_ours()
    finally:
        EmailBackend.batch_session = per_batch


def send_without_database():
    """Read the queued messages in one query, then render each and send it over one
    connection with no outbox work at all: the floor under ours."""
    from omnichannel.channels import get_backend
    from omnichannel.models import Message
    from omnichannel.outbox.rendering import render_message

    backend = get_backend("email")
    with backend.batch_session():
        for message in Message.objects.select_related("contact"):
            message.to = message.contact.email
            backend.send(message, render_message(message))


def clear_without_database():
    from omnichannel.models import Contact, Message

    Message.objects.all().delete()
    Contact.objects.all().delete()


def queue_post_office(total):
    from post_office import mail

    mail.send_many(
        [
            {
                "sender": "shop@example.com",
                "recipients": [f"po{time.monotonic_ns()}-{i}@example.com"],
                "subject": "Your order, Ann",
                "message": f"Hello Ann, your order {i} is on its way.",
                "html_message": f"<p>Hello Ann</p><p>Your order {i} is on its way.</p>",
            }
            for i in range(total)
        ]
    )


def send_post_office():
    from post_office.mail import send_queued_mail_until_done

    with tempfile.TemporaryDirectory() as folder:
        send_queued_mail_until_done(lockfile=os.path.join(folder, "lock"), processes=1)


def clear_post_office():
    from post_office.models import STATUS, Email

    assert not Email.objects.exclude(status=STATUS.sent).exists()
    Email.objects.all().delete()


def batch_size():
    from omnichannel.conf import omnichannel_settings

    return omnichannel_settings.DISPATCH_BATCH_SIZE


def summary(values, unit, digits):
    return f"min {min(values):8.{digits}f}  median {statistics.median(values):8.{digits}f} {unit}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = Server()
    configure(server.port)
    from django.db import connection

    connection.settings_dict["TEST"]["NAME"] = DATABASE
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    load_before = os.getloadavg()
    contenders = {
        "ours": (f"dispatcher, batch {batch_size()}", queue_ours, send_ours, clear_ours),
        "before": ("a session per message", queue_ours, send_ours_one_session_each, clear_ours),
        "post-office": ("post-office", queue_post_office, send_post_office, clear_post_office),
        "floor": (
            "render + send, no DB",
            queue_ours,
            send_without_database,
            clear_without_database,
        ),
    }
    results = {name: [] for name in contenders}
    try:
        for _ in range(args.rounds):
            for name, (_, *steps) in contenders.items():
                results[name].append(measure(server, args.messages, *steps))
    finally:
        connection.creation.destroy_test_db(DATABASE, verbosity=0)
        server.stop()
    print(
        f"email to a real SMTP server on 127.0.0.1, {args.messages} messages, "
        f"{args.rounds} rounds, 1 process, PostgreSQL:"
    )
    for name, (label, *_) in contenders.items():
        rates, sessions = zip(*results[name], strict=True)
        print(f"  {label:24} {summary(rates, 'msg/s', 0)}")
        print(f"  {'':24} {summary(sessions, 'sessions/msg', 3)}")
    ours, before, theirs, floor = (
        statistics.median(rate for rate, _ in results[name]) for name in contenders
    )
    print(f"  ratio (medians)          {ours / theirs:8.2f} of post-office's msg/s")
    print(f"                           {ours / before:8.2f} of a session per message's msg/s")
    print(f"                           {ours / floor:8.2f} of the no-database floor's msg/s")
    load = ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(load_before, os.getloadavg(), strict=True))
    print(f"  load average 1/5/15 min, before/after: {load} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
