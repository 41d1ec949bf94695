"""A message's life: its states, who may move it where, and the moves themselves.

Four parties change ``Message.status``, and each goes through this module:

* the **dispatcher** claims queued messages (queued -> sending) and records what the
  provider answered (sending -> sent / delivered / failed, or back to queued to wait or
  retry), each write guarded by its lease;
* the **provider** reports later what became of a message (sent -> delivered / failed)
  through a webhook or tracking event. Reports arrive out of order and sometimes before
  the dispatcher has written down the send: a report moves a message to a later *stage*
  only, never back, and one that arrives while the message is still ``sending`` is applied
  at once and kept by the dispatcher's own write (``KEEP_PROVIDER_REPORTS``);
* **events** that must stop messages (an order, STOP, an erasure, an exit) cancel what has
  not been handed to a provider (queued, or sending but not handed over);
* **staff** requeue what ended without reaching the customer (failed, cancelled).

``TRANSITIONS`` lists every allowed move; a test walks it against the code.
"""

from ..models.messages import FINAL_STATUSES, MessageStatus

QUEUED, SENDING, SENT, DELIVERED, FAILED, CANCELLED, EXPIRED = (
    MessageStatus.QUEUED,
    MessageStatus.SENDING,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.FAILED,
    MessageStatus.CANCELLED,
    MessageStatus.EXPIRED,
)

DISPATCHER, PROVIDER, EVENT, STAFF = "dispatcher", "provider", "event", "staff"

TRANSITIONS = {
    DISPATCHER: {
        QUEUED: {SENDING},
        SENDING: {QUEUED, SENT, DELIVERED, FAILED, CANCELLED, EXPIRED},
    },
    PROVIDER: {
        SENDING: {SENT, DELIVERED, FAILED},
        SENT: {DELIVERED, FAILED},
    },
    EVENT: {
        QUEUED: {CANCELLED},
        SENDING: {CANCELLED},  # only while not handed over to the provider
    },
    # An expired message would arrive out of context: it is never sent, not even by staff.
    STAFF: {
        FAILED: {QUEUED},
        CANCELLED: {QUEUED},
    },
}

FINAL = FINAL_STATUSES  # never sent (again) unless staff requeue it
# States an event can still stop a message in.
STOPPABLE = (QUEUED, SENDING)
# What staff may requeue.
REQUEUEABLE = tuple(TRANSITIONS[STAFF])

# How far along a message is: provider reports only ever move it to a later stage.
STAGE = {QUEUED: 0, SENDING: 0, SENT: 1, DELIVERED: 2, FAILED: 2, CANCELLED: 2, EXPIRED: 2}


def may_move(by, current, new):
    return new in TRANSITIONS[by].get(current, ())


def after_provider_report(current, reported):
    """The status a provider's report of ``reported`` leaves a ``current`` message in."""
    if may_move(PROVIDER, current, reported) and STAGE[reported] > STAGE[current]:
        return reported
    return current


# The dispatcher's write of a sent message keeps what a provider report already wrote
# (the report can land between the provider call and this write): SQL templates for
# ``omnichannel.core.db.update_rows``.
KEEP_PROVIDER_REPORTS = {
    "status": f"CASE WHEN {{col}} = '{SENDING}' THEN %s ELSE {{col}} END",
    "delivered_at": "COALESCE({col}, %s)",
    "provider_message_id": "COALESCE(NULLIF({col}, ''), %s)",
    "segments": "COALESCE({col}, %s)",
    "cost": "COALESCE({col}, %s)",
    "cost_currency": "COALESCE(NULLIF({col}, ''), %s)",
    # A failure the provider reported early stays; otherwise earlier retry errors go.
    "last_error": f"CASE WHEN \"status\" = '{SENDING}' THEN %s ELSE {{col}} END",
}
