"""Writing many rows in one call: ``update_rows`` and ``insert_rows`` (omnichannel.core.db).

The fast tier runs these on SQLite (``executemany``), the services tier on PostgreSQL
(``unnest`` of column arrays).
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from omnichannel.core.db import insert_rows, update_rows
from omnichannel.models import Message
from omnichannel.testing.factories import ContactFactory

pytestmark = pytest.mark.django_db


def new_messages(contact, keys):
    now = timezone.now()
    return [
        Message(
            contact=contact,
            channel="email",
            idempotency_key=key,
            content={"subject": key},
            scheduled_at=now,
            expires_at=now + timedelta(days=1),
        )
        for key in keys
    ]


class Statements:
    """The SQL text of every statement run, before parameters are bound."""

    def __init__(self):
        self.sql = []

    def __call__(self, execute, sql, params, many, context):
        self.sql.append(sql)
        return execute(sql, params, many, context)


def test_insert_rows_fills_defaults_and_skips_conflicts():
    contact = ContactFactory()
    insert_rows(new_messages(contact, ["a", "b"]))
    insert_rows(new_messages(contact, ["b", "c"]))  # "b" exists: skipped, "c" inserted
    rows = {m.idempotency_key: m for m in Message.objects.all()}
    assert sorted(rows) == ["a", "b", "c"]
    assert rows["c"].status == "queued" and rows["c"].created_at is not None
    assert rows["c"].content == {"subject": "c"} and rows["c"].contact_id == contact.pk
    assert len({m.uuid for m in rows.values()}) == 3


def test_update_rows_writes_each_rows_own_values_under_the_guard():
    contact = ContactFactory()
    insert_rows(new_messages(contact, ["a", "b", "c"]))
    a, b, c = Message.objects.order_by("idempotency_key")
    Message.objects.filter(pk=c.pk).update(locked_by="someone else")
    until = timezone.now() + timedelta(minutes=5)
    a.locked_until, a.last_error, a.context = until, "first", {"n": 1}
    b.locked_until, b.last_error, b.context = None, "second", {"n": [2]}
    c.last_error = "not mine"
    update_rows(
        [a, b, c],
        ["locked_until", "last_error", "context"],
        where="locked_by = %s",
        where_params=[""],
    )
    a, b, c = Message.objects.order_by("idempotency_key")
    assert (a.locked_until, a.last_error, a.context) == (until, "first", {"n": 1})
    assert (b.locked_until, b.last_error, b.context) == (None, "second", {"n": [2]})
    assert c.last_error == ""  # excluded by the guard


def test_update_rows_templates_keep_a_value_already_written():
    contact = ContactFactory()
    insert_rows(new_messages(contact, ["a", "b"]))
    a, b = Message.objects.order_by("idempotency_key")
    Message.objects.filter(pk=a.pk).update(last_error="kept")
    a.last_error = b.last_error = "new"
    update_rows([a, b], ["last_error"], templates={"last_error": "COALESCE(NULLIF({col}, ''), %s)"})
    assert dict(Message.objects.values_list("idempotency_key", "last_error")) == {
        "a": "kept",
        "b": "new",
    }


def test_the_statement_text_does_not_grow_with_the_rows():
    """A statement of one shape is parsed once by psycopg and planned alike by the server,
    whatever the batch; a text growing with the rows is parsed again every time."""
    contact = ContactFactory()
    statements = Statements()
    with connection.execute_wrapper(statements):
        insert_rows(new_messages(contact, ["a", "b"]))
        insert_rows(new_messages(contact, [f"k{i}" for i in range(40)]))
        messages = list(Message.objects.all())
        update_rows(messages[:2], ["last_error"])
        update_rows(messages, ["last_error"])
    inserts = [sql for sql in statements.sql if sql.startswith("INSERT")]
    updates = [sql for sql in statements.sql if sql.startswith("UPDATE")]
    assert len(inserts) == len(updates) == 2
    assert inserts[0] == inserts[1] and updates[0] == updates[1]
    assert len(inserts[0]) < 4096 and len(updates[0]) < 4096
