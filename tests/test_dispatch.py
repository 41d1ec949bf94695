"""The dispatcher: claim, decide, send once, record; and what a crash leaves behind."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Q
from django.utils import timezone

from omnichannel.channels import locmem
from omnichannel.contacts.consent import grant_consent, suppress
from omnichannel.exceptions import PermanentSendError, TransientSendError
from omnichannel.models import DeliveryEvent, Message, SenderSlot, Suppression
from omnichannel.outbox import dispatch, policy
from omnichannel.outbox import queueing as outbox
from omnichannel.testing.factories import ContactFactory

from .clock import MONDAY, PARIS, SATURDAY, TOKYO, WEDNESDAY, next_local

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem_channels")]

CONTENT = {"subject": "Hello {{ contact.first_name }}", "text": "Hi {{ contact.first_name }}"}


def queue(contact, channel="email", key=None, **kwargs):
    message, _ = outbox.enqueue(
        contact, channel, CONTENT, idempotency_key=key or f"{contact.pk}-{channel}", **kwargs
    )
    return message


def sweep_at(when):
    return dispatch.dispatch_batch("test-worker", now=when)


@pytest.fixture
def ann():
    return ContactFactory(first_name="Ann", phone="+33612345678", consents=["email", "sms"])


def test_a_due_message_is_sent_once(ann, locmem_channels):
    message = queue(ann)
    report = dispatch.sweep()
    assert (report.claimed, report.sent) == (1, 1)
    assert dispatch.sweep().claimed == 0
    message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 1 and message.sent_at
    assert (message.locked_by, message.locked_until) == ("", None)
    assert message.rendered == {"subject": "Hello Ann", "text": "Hi Ann"}
    assert message.to == ann.email
    assert [entry[3] for entry in locmem_channels] == [str(message.uuid)]
    assert list(message.events.values_list("kind", flat=True)) == ["sent"]


def test_enqueue_is_idempotent(ann):
    first, created = outbox.enqueue(ann, "email", CONTENT, idempotency_key="welcome:1")
    again, created_again = outbox.enqueue(
        ann, "email", {"text": "other"}, idempotency_key="welcome:1"
    )
    assert created and not created_again and again.pk == first.pk
    assert Message.objects.count() == 1


def test_messages_not_yet_due_wait(ann):
    queue(ann, scheduled_at=timezone.now() + dt.timedelta(hours=1))
    assert dispatch.sweep().claimed == 0


def test_priority_goes_first(ann, locmem_channels):
    bob = ContactFactory(consents=["email"])
    low = queue(ann)
    high = queue(bob, priority=5)
    dispatch.sweep()
    assert [entry[3] for entry in locmem_channels] == [str(high.uuid), str(low.uuid)]


class TestPolicyAtSendTime:
    def test_no_marketing_without_consent(self, locmem_channels):
        stranger = ContactFactory()
        message = queue(stranger)
        dispatch.sweep()
        message.refresh_from_db()
        assert message.status == "cancelled"
        assert message.last_error == "no marketing consent for this channel"
        assert locmem_channels == []

    def test_transactional_needs_no_marketing_consent(self, locmem_channels):
        message = queue(ContactFactory(), purpose="transactional")
        dispatch.sweep()
        message.refresh_from_db()
        assert message.status == "sent"

    def test_consent_withdrawn_after_queueing_stops_the_message(self, ann, locmem_channels):
        message = queue(ann)
        from omnichannel.contacts.consent import withdraw_consent

        withdraw_consent(ann, "email", source="test")
        dispatch.sweep()
        message.refresh_from_db()
        assert message.status == "cancelled" and locmem_channels == []

    def test_suppressed_address_is_not_messaged(self, ann, locmem_channels):
        suppress("email", ann.email, "bounce")
        message = queue(ann)
        dispatch.sweep()
        message.refresh_from_db()
        assert (message.status, message.last_error) == ("cancelled", "address is suppressed")

    def test_missing_address_cancels(self, locmem_channels):
        contact = ContactFactory(consents=["sms"])  # no phone
        message = queue(contact, "sms")
        dispatch.sweep()
        message.refresh_from_db()
        assert message.status == "cancelled" and "no SMS address" in message.last_error

    def test_expired_message_is_never_sent(self, ann, locmem_channels):
        message = queue(ann, expires_at=timezone.now() - dt.timedelta(seconds=1))
        dispatch.sweep()
        message.refresh_from_db()
        assert message.status == "expired" and locmem_channels == []
        assert list(message.events.values_list("kind", flat=True)) == ["expired"]

    def test_sms_due_at_23h_local_waits_for_the_window(self, ann, locmem_channels):
        late = next_local(PARIS, 23, weekday=WEDNESDAY)
        message = queue(ann, "sms", scheduled_at=late)
        report = sweep_at(late)
        message.refresh_from_db()
        assert report.deferred == 1 and message.status == "queued"
        assert message.scheduled_at == next_local(PARIS, 9, after=late)  # Thursday 09:00
        assert locmem_channels == []
        assert sweep_at(message.scheduled_at).sent == 1

    def test_french_sms_waits_over_sunday(self, ann):
        saturday_night = next_local(PARIS, 22, weekday=SATURDAY)
        message = queue(ann, "sms", scheduled_at=saturday_night)
        sweep_at(saturday_night)
        message.refresh_from_db()
        assert message.scheduled_at == next_local(PARIS, 9, weekday=MONDAY, after=saturday_night)

    def test_window_uses_the_contact_time_zone(self, locmem_channels):
        tokyo = ContactFactory(phone="+81312345678", time_zone="Asia/Tokyo", consents=["sms"])
        evening = next_local(TOKYO, 21)  # noon in UTC: inside a window there, not in Tokyo
        message = queue(tokyo, "sms", scheduled_at=evening)
        sweep_at(evening)
        message.refresh_from_db()
        assert message.scheduled_at == next_local(TOKYO, 9, after=evening)

    def test_emails_have_no_window_by_default(self, ann):
        late = next_local(PARIS, 23, weekday=WEDNESDAY)
        queue(ann, scheduled_at=late)
        assert sweep_at(late).sent == 1

    def test_frequency_cap_defers_the_second_email(self, ann, locmem_channels):
        queue(ann, key="a")
        queue(ann, key="b")
        now = timezone.now()
        report = sweep_at(now)
        assert (report.sent, report.deferred) == (1, 1)
        waiting = Message.objects.get(status="queued")
        assert waiting.scheduled_at == pytest.approx(
            now + dt.timedelta(hours=16), abs=dt.timedelta(seconds=1)
        )
        assert "frequency cap" in waiting.last_error

    def test_frequency_cap_can_skip(self, ann, settings):
        settings.OMNICHANNEL = {
            **settings.OMNICHANNEL,
            "FREQUENCY_CAPS": {"all": {"count": 1, "hours": 24, "action": "skip"}},
        }
        # Noon in Paris, inside the SMS window, so the cap is what stops the second one.
        noon = next_local(PARIS, 12, weekday=WEDNESDAY)
        queue(ann, "email", key="a", scheduled_at=noon)
        queue(ann, "sms", key="b", purpose="marketing", scheduled_at=noon)
        report = sweep_at(noon)
        assert (report.sent, report.cancelled) == (1, 1)

    def test_caps_ignore_transactional_messages(self, ann):
        queue(ann, key="a", purpose="transactional")
        queue(ann, key="b", purpose="transactional")
        assert dispatch.sweep().sent == 2


class TestFailures:
    def fail_with(self, monkeypatch, error):
        def send(self, message, rendered):
            raise error

        monkeypatch.setattr(locmem.LocmemBackend, "send", send)

    def test_transient_error_retries_with_backoff(self, ann, monkeypatch):
        self.fail_with(monkeypatch, TransientSendError("busy", provider="fake", status_code=503))
        message = queue(ann)
        now = timezone.now()
        report = sweep_at(now)
        message.refresh_from_db()
        assert report.retried == 1 and message.status == "queued" and message.attempts == 1
        # First retry after 15-30 s (half fixed, half jitter of 30 s).
        assert (
            now + dt.timedelta(seconds=15) <= message.scheduled_at <= now + dt.timedelta(seconds=30)
        )
        assert "fake 503 busy" in message.last_error
        assert list(message.events.values_list("kind", flat=True)) == ["retry"]

    def test_retry_after_is_honoured(self, ann, monkeypatch):
        self.fail_with(monkeypatch, TransientSendError("slow down", retry_after=600))
        message = queue(ann)
        now = timezone.now()
        sweep_at(now)
        message.refresh_from_db()
        assert message.scheduled_at >= now + dt.timedelta(seconds=600)

    def test_gives_up_after_the_last_attempt(self, ann, monkeypatch, settings):
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "RETRY_MAX_ATTEMPTS": 2}
        self.fail_with(monkeypatch, TransientSendError("busy"))
        message = queue(ann)
        sweep_at(timezone.now())
        sweep_at(timezone.now() + dt.timedelta(hours=2))
        message.refresh_from_db()
        assert message.status == "failed" and message.attempts == 2
        assert message.last_error.startswith("gave up after 2 attempts")

    def test_permanent_error_fails_and_suppresses(self, ann, monkeypatch):
        self.fail_with(monkeypatch, PermanentSendError("no such number", suppress="invalid"))
        message = queue(ann, "sms", purpose="transactional")
        dispatch.sweep()
        message.refresh_from_db()
        assert message.status == "failed" and message.last_error == "no such number"
        assert Suppression.objects.get().address == ann.phone

    def test_unexpected_exception_is_retried_not_raised(self, ann, monkeypatch):
        self.fail_with(monkeypatch, RuntimeError("bug in a backend"))
        message = queue(ann)
        assert dispatch.sweep().retried == 1
        message.refresh_from_db()
        assert message.status == "queued" and "bug in a backend" in message.last_error

    def test_broken_template_fails_only_its_message(self, ann, locmem_channels):
        bob = ContactFactory(consents=["email"])
        broken, _ = outbox.enqueue(ann, "email", {"text": "{% if %}"}, idempotency_key="broken")
        fine = queue(bob)
        dispatch.sweep()
        broken.refresh_from_db()
        fine.refresh_from_db()
        assert broken.status == "failed" and "could not be rendered" in broken.last_error
        assert fine.status == "sent"

    def test_channel_without_backend_fails_clearly(self, ann, settings):
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "CHANNEL_BACKENDS": {}}
        message = queue(ann)
        dispatch.sweep()
        message.refresh_from_db()
        assert message.status == "failed" and "CHANNEL_BACKENDS" in message.last_error


class TestCancellationRace:
    def test_cancelled_between_claim_and_send_is_not_sent(self, ann, monkeypatch, locmem_channels):
        """An order placed while the batch is being prepared stops the message."""
        message = queue(ann)
        real_render = dispatch.render_message

        def render_then_order(msg):
            outbox.cancel_pending(contact=ann, reason="ordered meanwhile")
            return real_render(msg)

        monkeypatch.setattr(dispatch, "render_message", render_then_order)
        dispatch.sweep()
        message.refresh_from_db()
        assert message.status == "cancelled" and locmem_channels == []

    def test_cancel_pending_filters(self, ann):
        email = queue(ann, "email")
        sms = queue(ann, "sms")
        transactional = queue(ann, "email", key="t", purpose="transactional")
        count = outbox.cancel_pending(
            contact=ann, channel="email", reason="unsubscribed", extra=Q(purpose="marketing")
        )
        assert count == 1
        statuses = dict(Message.objects.values_list("pk", "status"))
        assert statuses == {email.pk: "cancelled", sms.pk: "queued", transactional.pk: "queued"}
        assert DeliveryEvent.objects.get().detail == "unsubscribed"


class TestCrashRecovery:
    def lease_out(self, message, handed):
        past = timezone.now() - dt.timedelta(minutes=5)
        Message.objects.filter(pk=message.pk).update(
            status="sending",
            locked_until=past,
            locked_by="dead",
            handed_at=past if handed else None,
        )

    def test_claimed_but_not_handed_over_goes_back(self, ann, locmem_channels):
        message = queue(ann)
        self.lease_out(message, handed=False)
        report = dispatch.sweep()
        assert report.requeued == 1 and report.sent == 1
        assert len(locmem_channels) == 1

    def test_handed_over_and_found_at_the_provider_is_not_sent_again(self, ann, locmem_channels):
        message = queue(ann)
        locmem_channels.append(("email", ann.email, {}, str(message.uuid)))  # it did go out
        self.lease_out(message, handed=True)
        report = dispatch.sweep()
        message.refresh_from_db()
        assert report.sent == 1 and message.status == "sent"
        assert len(locmem_channels) == 1

    def test_handed_over_but_unknown_to_the_provider_is_sent(self, ann, locmem_channels):
        message = queue(ann)
        self.lease_out(message, handed=True)
        dispatch.sweep()
        message.refresh_from_db()
        assert message.status == "sent" and len(locmem_channels) == 1

    def test_without_lookup_an_uncertain_message_fails_for_staff(
        self, ann, settings, locmem_channels
    ):
        settings.OMNICHANNEL = {
            **settings.OMNICHANNEL,
            "CHANNEL_BACKENDS": {"email": "omnichannel.channels.console.ConsoleBackend"},
        }
        message = queue(ann)
        self.lease_out(message, handed=True)
        dispatch.sweep()
        message.refresh_from_db()
        assert message.status == "failed" and message.last_error == dispatch.UNCERTAIN_REASON

    def test_a_live_lease_is_left_alone(self, ann):
        message = queue(ann)
        Message.objects.filter(pk=message.pk).update(
            status="sending", locked_until=timezone.now() + dt.timedelta(minutes=1)
        )
        assert dispatch.sweep().claimed == 0


class TestPacing:
    def test_sms_bursts_queue_behind_the_sender_pace(self, settings):
        settings.OMNICHANNEL = {
            **settings.OMNICHANNEL,
            "CHANNEL_BACKENDS": {"sms": "tests.test_dispatch.PacedSMS"},
            "SEND_WINDOWS": {},
        }
        contacts = [ContactFactory(phone=f"+3361234560{i}", consents=["sms"]) for i in range(10)]
        for contact in contacts:
            queue(contact, "sms")
        now = timezone.now()
        report = sweep_at(now)
        # 1 per second with a 5 s horizon: slots 0..5 s go now; the rest wait for the next
        # free slot without reserving it, so they hold no slot they may never use.
        assert (report.sent, report.deferred) == (6, 4)
        waiting = sorted(
            Message.objects.filter(status="queued").values_list("scheduled_at", flat=True)
        )
        assert [round((t - now).total_seconds()) for t in waiting] == [6, 6, 6, 6]
        assert SenderSlot.objects.get().sender == "sms:+15005550006"


class PacedSMS(locmem.LocmemBackend):
    def sender(self, message):
        return "+15005550006"


def test_inbox_messages_are_delivered_at_once(settings):
    settings.OMNICHANNEL = {
        **settings.OMNICHANNEL,
        "CHANNEL_BACKENDS": {"inbox": "omnichannel.channels.inbox.InboxBackend"},
    }
    contact = ContactFactory()
    grant_consent(contact, "inbox")
    message, _ = outbox.enqueue(
        contact, "inbox", {"title": "Welcome", "body": "Hi"}, idempotency_key="inbox"
    )
    dispatch.sweep()
    message.refresh_from_db()
    assert message.status == "delivered" and message.delivered_at
    assert list(message.events.values_list("kind", flat=True)) == ["sent", "delivered"]


def test_cost_comes_from_the_cost_table(ann):
    from omnichannel.models import ChannelCost

    ChannelCost.objects.create(channel="sms", country="", amount="0.05", currency="EUR")
    ChannelCost.objects.create(channel="sms", country="FR", amount="0.07", currency="EUR")
    message = queue(ann, "sms", purpose="transactional")
    dispatch.sweep()
    message.refresh_from_db()
    assert (message.cost, message.cost_currency) == (Decimal("0.07"), "EUR")


def statements_for(batch_size, settings, monkeypatch, content=CONTENT):
    """(statements through Django, hand-overs) for one batch of ``batch_size``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "DISPATCH_BATCH_SIZE": batch_size}
    for person in [ContactFactory(consents=["email"]) for _ in range(batch_size)]:
        outbox.enqueue(person, "email", content, idempotency_key=f"{person.pk}-email")
    hand_overs = []
    execute = dispatch.execute_prepared
    # On PostgreSQL the hand-over goes to psycopg directly: count it where it is sent.
    monkeypatch.setattr(
        dispatch, "execute_prepared", lambda *args: hand_overs.append(1) or execute(*args)
    )
    with CaptureQueriesContext(connection) as queries:
        assert dispatch.dispatch_batch("test-worker").sent == batch_size
    monkeypatch.undo()
    Message.objects.all().delete()
    hand_over_starts = ("UPDATE omnichannel_message AS", 'UPDATE omnichannel_message SET "sent_at"')
    through_django = [q for q in queries if not q["sql"].startswith(hand_over_starts)]
    return len(through_django), len(hand_overs)


def test_a_batch_costs_the_same_statements_whatever_its_size_plus_one_per_message(
    settings, monkeypatch
):
    # Each message's hand-over (its last check) is its one round trip on PostgreSQL (two
    # statements on SQLite); all else is per batch.
    from django.db import connection

    per_message = 1 if connection.vendor == "postgresql" else 2
    small, large = (
        statements_for(5, settings, monkeypatch),
        statements_for(20, settings, monkeypatch),
    )
    assert (small[1], large[1]) == (5 * per_message, 20 * per_message)
    assert small[0] == large[0] <= 16


def test_block_emails_read_the_brand_once_a_batch_not_once_an_email(settings, monkeypatch):
    blocks = {
        "subject": "Hello",
        "blocks": [{"type": "heading", "text": "Hello {{ contact.first_name }}"}],
    }
    plain = statements_for(5, settings, monkeypatch)
    small, large = (
        statements_for(5, settings, monkeypatch, blocks),
        statements_for(20, settings, monkeypatch, blocks),
    )
    assert small == (plain[0] + 1, plain[1])  # the brand, read once
    assert large[0] == small[0]


@pytest.mark.services
@pytest.mark.parametrize("synchronous", [True, False])
def test_hand_overs_skip_the_disk_flush_only_when_told(settings, during_send, synchronous):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's: run the services tier")
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "DISPATCH_SYNCHRONOUS_COMMIT": synchronous}

    def show():
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    seen = []
    during_send.hook = lambda message: seen.append(show())
    for person in [ContactFactory(consents=["email"]) for _ in range(2)]:
        queue(person)
    assert dispatch.sweep().sent == 2
    assert seen == ["on", "on"] if synchronous else ["off", "off"]
    assert show() == "on"  # the worker's connection is left as it was


@pytest.mark.services
def test_the_hand_over_is_a_prepared_statement_and_the_shop_s_cache_setting_stays(ann):
    # Django turns psycopg's statement cache off; a statement that is parsed and planned
    # for every message costs more than the message's own work on the server.
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's: run the services tier")
    for person in [ann, *(ContactFactory(consents=["email"]) for _ in range(7))]:
        queue(person)
    assert dispatch.sweep().sent == 8
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE 'WITH sent AS (UPDATE omnichannel_message%%'"
        )
        executions = sorted(count for (count,) in cursor.fetchall())
    # One statement for the first message (no previous one to mark), one for the rest.
    assert executions == [1, 7]
    assert connection.connection.prepare_threshold is None


@pytest.mark.services
@pytest.mark.parametrize(
    "shape",
    [
        policy.CheckShape(marketing, enrolled, orders_exit)
        for marketing in (False, True)
        for enrolled, orders_exit in ((False, False), (True, False), (True, True))
    ],
    ids=str,
)
def test_every_last_check_is_an_index_probe_not_a_scan_per_message(ann, shape):
    # An EXISTS under an OR is planned as a hashed subplan: PostgreSQL reads every matching
    # consent (or suppression, or order) of the shop to hash them, once per message. Each
    # shape's statement holds only ANDed conditions, which become joins on indexes.
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's: run the services tier")
    message = queue(ann)
    (statement,) = dispatch.hand_over_sql(connection.vendor, shape)
    params = {
        "now": timezone.now(),
        "until": timezone.now(),
        "to": ann.email,
        "id": message.pk,
        "owner": "test-worker",
        "sending": "sending",
        "sent": None,
        "sent_at": None,
        "provider_message_id": "",
    }
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        try:
            cursor.execute(f"EXPLAIN {statement}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET plan_cache_mode")
    assert "SubPlan" not in plan, plan


def test_a_batch_announces_its_sent_messages_once_after_commit(
    ann, django_capture_on_commit_callbacks
):
    from omnichannel import signals

    other = ContactFactory(consents=["email"])
    sent = [queue(ann), queue(other)]
    failing = queue(ContactFactory(email=""))  # no address: cancelled, not announced
    heard = []

    def listen(sender, messages, **kwargs):
        heard.append(sorted(m.pk for m in messages))

    signals.message_sent.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            dispatch.sweep()
    finally:
        signals.message_sent.disconnect(listen)
    assert heard == [sorted(m.pk for m in sent)]
    assert failing.pk not in heard[0]
