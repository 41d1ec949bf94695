"""Retention: old history goes in small batches, recent history and live messages stay."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from omnichannel import tasks
from omnichannel.contacts.privacy.retention import purge_old_data, retention_days
from omnichannel.models import (
    CartSnapshot,
    DeliveryEvent,
    InboundMessage,
    Message,
    PopupEvent,
    ProductEvent,
    ProductView,
    TrackedOrder,
)
from omnichannel.outbox.queueing import enqueue
from omnichannel.schedule import periodic_tasks
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory, PopupFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def aged(row, days, field):
    type(row).objects.filter(pk=row.pk).update(**{field: NOW - timedelta(days=days)})
    return row


def message(contact, days, status="sent"):
    row, _created = enqueue(contact, "email", {"text": "x"}, idempotency_key=f"m:{days}:{status}")
    Message.objects.filter(pk=row.pk).update(status=status)
    return aged(row, days, "created_at")


def event(message, days):
    return DeliveryEvent.objects.create(
        message=message, kind="opened", occurred_at=NOW - timedelta(days=days)
    )


@pytest.fixture
def history():
    """For each kind of history: one row past the default retention, one recent."""
    contact = ContactFactory()
    popup = PopupFactory()
    variant = popup.variants.get()
    rows = {}
    for label, days in (("old", 800), ("recent", 10)):
        cart = aged(CartSnapshotFactory(contact=contact), days, "last_activity_at")
        sent = message(contact, days)
        rows[label] = {
            "cart": cart,
            "message": sent,
            "event": event(sent, days),
            "popup_event": aged(
                PopupEvent.objects.create(popup=popup, variant=variant, kind="impression"),
                days,
                "created_at",
            ),
            "view": aged(
                ProductView.objects.create(
                    viewer=f"contact:{contact.pk}:{label}",
                    contact=contact,
                    product_id="7",
                    name="Mug",
                    first_viewed_at=NOW,
                    last_viewed_at=NOW,
                ),  # fmt: skip
                days,
                "last_viewed_at",
            ),
            "product_event": aged(
                ProductEvent.objects.create(
                    kind="back_in_stock",
                    product_id="7",
                    product={"name": "Mug"},
                    happened_at=NOW,
                    processed_at=NOW,
                ),  # fmt: skip
                days,
                "happened_at",
            ),
            "inbound": aged(
                InboundMessage.objects.create(
                    provider_message_id=f"SM-{label}",
                    channel="sms",
                    from_address="+1",
                    to_address="+2",
                    body="hi",
                ),  # fmt: skip
                days,
                "received_at",
            ),
        }
    TrackedOrder.objects.create(
        order_key="o-1", contact=contact, cart=rows["old"]["cart"], total=Decimal("20"),
        currency="EUR", placed_at=NOW - timedelta(days=800),
    )  # fmt: skip
    return rows


def exists(row):
    return type(row).objects.filter(pk=row.pk).exists()


def test_old_rows_go_recent_rows_stay(history):
    report = purge_old_data(now=NOW)
    assert report == {
        "cart_snapshots": 1, "delivery_events": 1, "popup_events": 1, "inbound_messages": 1,
        "messages": None, "product_views": 1, "product_events": 1,
    }  # fmt: skip
    for name, row in history["old"].items():
        assert exists(row) is (name == "message"), name  # messages are kept by default
    assert all(exists(row) for row in history["recent"].values())


def test_an_order_keeps_its_total_when_its_cart_goes(history):
    purge_old_data(now=NOW)
    order = TrackedOrder.objects.get()
    assert (order.cart, order.total) == (None, Decimal("20"))


def test_messages_go_only_once_final_and_take_their_events(history, settings):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "RETENTION_DAYS": {"messages": 365}}
    contact = history["old"]["message"].contact
    waiting = [message(contact, 800, status) for status in ("queued", "sending")]
    report = purge_old_data(now=NOW)
    assert report["messages"] == 1
    assert not exists(history["old"]["message"]) and exists(history["recent"]["message"])
    assert all(exists(row) for row in waiting)


def test_a_kind_set_to_none_is_kept(history, settings):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "RETENTION_DAYS": {"delivery_events": None}}
    report = purge_old_data(now=NOW)
    assert report["delivery_events"] is None and report["cart_snapshots"] == 1  # default kept
    assert exists(history["old"]["event"])


def test_deletes_in_batches(settings):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "RETENTION_BATCH_SIZE": 2}
    sent = message(ContactFactory(), 1)
    for _ in range(5):
        event(sent, 800)
    keep = event(sent, 1)
    with CaptureQueriesContext(connection) as captured:
        assert purge_old_data(now=NOW)["delivery_events"] == 5
    deletes = [q["sql"] for q in captured if q["sql"].startswith('DELETE FROM "omnichannel_deli')]
    assert len(deletes) == 3
    assert list(DeliveryEvent.objects.all()) == [keep]


def test_dry_run_counts_and_deletes_nothing(history):
    report = purge_old_data(now=NOW, dry_run=True)
    assert report["cart_snapshots"] == 1 and report["delivery_events"] == 1
    assert all(exists(row) for row in history["old"].values())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"carts": 30}, "unknown key 'carts'"),
        ({"popup_events": 0}, "number of days, at least 1"),
        ({"popup_events": "30"}, "whole number of days.*None is allowed"),
        ([30], "must be a dict"),
    ],
)
def test_bad_settings_are_named(settings, value, message):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "RETENTION_DAYS": value}
    with pytest.raises(ImproperlyConfigured, match=message):
        retention_days()


def test_the_task_runs_daily(history):
    assert periodic_tasks()["omnichannel: purge old data"] == (
        "omnichannel.purge_old_data", 24 * 3600,
    )  # fmt: skip
    assert tasks.purge_old_data()["delivery_events"] == 1
    assert not exists(history["old"]["event"])


def purge(*args):
    out = StringIO()
    call_command("omnichannel_purge", *args, stdout=out)
    return out.getvalue()


def test_command_dry_run_prints_counts(history):
    out = purge("--dry-run")
    assert "delivery_events older than 730 days: 1 would be deleted" in out
    assert "messages: kept (no retention set)" in out
    assert exists(history["old"]["event"])


def test_command_deletes(history):
    assert "cart_snapshots older than 365 days: 1 deleted" in purge()
    assert not CartSnapshot.objects.filter(pk=history["old"]["cart"].pk).exists()


def test_command_reports_bad_settings(settings):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "RETENTION_DAYS": {"carts": 1}}
    with pytest.raises(CommandError, match="unknown key"):
        purge()


def test_news_not_announced_yet_is_never_purged(db):
    waiting = ProductEvent.objects.create(
        kind="price_drop", product_id="7", product={}, happened_at=NOW - timedelta(days=900)
    )
    assert purge_old_data(now=NOW)["product_events"] == 0
    assert exists(waiting)
