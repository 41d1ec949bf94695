"""One home for a message's life: every out-of-order pair of send record and provider report."""

from itertools import product

import pytest
from anymail.signals import AnymailTrackingEvent

from omnichannel.models import Message
from omnichannel.models.messages import MessageStatus
from omnichannel.outbox import dispatch
from omnichannel.outbox import queueing as outbox
from omnichannel.outbox import status as message_status
from omnichannel.testing.factories import ContactFactory
from omnichannel.webhooks.email_tracking import handle_tracking

pytestmark = pytest.mark.django_db

STATUSES = list(MessageStatus)


def esp_event(message, event_type, event_id, description=""):
    return AnymailTrackingEvent(
        event_type=event_type,
        event_id=event_id,
        metadata={"omnichannel_message": str(message.uuid)},
        recipient=message.contact.email,
        description=description,
        esp_event={"id": event_id},
    )


def queued(contact):
    return outbox.enqueue(
        contact, "email", {"subject": "Hi", "text": "Hi"}, idempotency_key="one",
        purpose="transactional",
    )[0]  # fmt: skip


@pytest.mark.parametrize(
    ("event_type", "final", "error"),
    [("delivered", "delivered", ""), ("bounced", "failed", "mailbox unknown")],
)
def test_a_report_that_beats_the_send_record_is_kept(during_send, event_type, final, error):
    message = queued(ContactFactory())
    # The ESP's webhook lands while the dispatcher is still waiting for the API's answer.
    during_send.hook = lambda m: handle_tracking(
        None, event=esp_event(m, event_type, "e1", error), esp_name="esp"
    )
    dispatch.sweep()
    message.refresh_from_db()
    assert message.status == final
    assert message.sent_at is not None and message.locked_by == ""
    assert message.last_error == error
    assert sorted(message.events.values_list("kind", flat=True)) == sorted(["sent", event_type])


@pytest.mark.parametrize("event_type", ["delivered", "bounced"])
def test_a_report_after_the_send_record_moves_the_message_on(locmem_channels, event_type):
    message = queued(ContactFactory())
    dispatch.sweep()
    handle_tracking(None, event=esp_event(message, event_type, "e1"), esp_name="esp")
    message.refresh_from_db()
    assert message.status == {"delivered": "delivered", "bounced": "failed"}[event_type]


def test_a_late_delivered_report_does_not_undo_a_bounce(locmem_channels):
    message = queued(ContactFactory())
    dispatch.sweep()
    handle_tracking(None, event=esp_event(message, "bounced", "e1", "gone"), esp_name="esp")
    handle_tracking(None, event=esp_event(message, "delivered", "e2"), esp_name="esp")
    message.refresh_from_db()
    assert (message.status, message.last_error) == ("failed", "gone")


@pytest.mark.parametrize(("current", "reported"), list(product(STATUSES, STATUSES)))
def test_provider_reports_only_move_a_message_to_a_later_stage(current, reported):
    after = message_status.after_provider_report(current, reported)
    assert after in (current, reported)
    assert message_status.STAGE[after] >= message_status.STAGE[current]
    if current in (MessageStatus.QUEUED, MessageStatus.CANCELLED, MessageStatus.EXPIRED):
        assert after == current  # never sent: nothing a provider says changes that


def test_every_transition_names_known_states_and_staff_only_requeue_ended_messages():
    for moves in message_status.TRANSITIONS.values():
        for current, targets in moves.items():
            assert current in STATUSES and set(targets) <= set(STATUSES)
    assert set(message_status.REQUEUEABLE) == {"failed", "cancelled"}
    assert set(message_status.STOPPABLE) == {"queued", "sending"}


def test_a_requeued_dispatch_outcome_does_not_touch_a_reported_message(during_send):
    """A transient error although the provider took it: its delivered report wins."""
    from omnichannel.exceptions import TransientSendError

    message = queued(ContactFactory())

    def delivered_then_timeout(m):
        handle_tracking(None, event=esp_event(m, "delivered", "e1"), esp_name="esp")
        raise TransientSendError("read timed out", provider="esp")

    during_send.hook = delivered_then_timeout
    dispatch.sweep()
    message.refresh_from_db()
    assert message.status == "delivered"
    assert Message.objects.filter(status="queued").count() == 0
