"""Writing many rows in one call: ``update_rows``, ``insert_rows`` and ``insert_objects``
(omnichannel.core.db).

The fast tier runs these on SQLite (``executemany``), the services tier on PostgreSQL
(``unnest`` of column arrays).
"""

import json
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from omnichannel.core.db import _prepared_rows, insert_objects, insert_rows, update_rows
from omnichannel.models import Contact, Enrollment, Message
from omnichannel.models.messages import MessageStatus
from omnichannel.testing.factories import ContactFactory

from .flows.conftest import make_flow

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


def test_insert_objects_fills_defaults_and_skips_conflicts():
    contact = ContactFactory()
    insert_objects(new_messages(contact, ["a", "b"]))
    insert_objects(new_messages(contact, ["b", "c"]))  # "b" exists: skipped, "c" inserted
    rows = {m.idempotency_key: m for m in Message.objects.all()}
    assert sorted(rows) == ["a", "b", "c"]
    assert rows["c"].status == "queued" and rows["c"].created_at is not None
    assert rows["c"].content == {"subject": "c"} and rows["c"].contact_id == contact.pk
    assert len({m.uuid for m in rows.values()}) == 3


def test_update_rows_writes_each_rows_own_values_under_the_guard():
    contact = ContactFactory()
    insert_objects(new_messages(contact, ["a", "b", "c"]))
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
    insert_objects(new_messages(contact, ["a", "b"]))
    a, b = Message.objects.order_by("idempotency_key")
    Message.objects.filter(pk=a.pk).update(last_error="kept")
    a.last_error = b.last_error = "new"
    update_rows([a, b], ["last_error"], templates={"last_error": "COALESCE(NULLIF({col}, ''), %s)"})
    assert dict(Message.objects.values_list("idempotency_key", "last_error")) == {
        "a": "kept",
        "b": "new",
    }


@pytest.mark.services
def test_the_statement_text_does_not_grow_with_the_rows():
    """A statement of one shape is parsed once by psycopg and planned alike by the server,
    whatever the batch; a text growing with the rows is parsed again every time."""
    if connection.vendor != "postgresql":
        pytest.skip("psycopg's statement cache is PostgreSQL's: run the services tier")
    contact = ContactFactory()
    statements = Statements()
    with connection.execute_wrapper(statements):
        insert_objects(new_messages(contact, ["a", "b"]))
        insert_objects(new_messages(contact, [f"k{i}" for i in range(40)]))
        messages = list(Message.objects.all())
        update_rows(messages[:2], ["last_error"])
        update_rows(messages, ["last_error"])
    inserts = [sql for sql in statements.sql if sql.startswith("INSERT")]
    updates = [sql for sql in statements.sql if sql.startswith("UPDATE")]
    assert len(inserts) == len(updates) == 2
    assert inserts[0] == inserts[1] and updates[0] == updates[1]
    assert len(inserts[0]) < 4096 and len(updates[0]) < 4096


@pytest.mark.services
def test_the_rows_travel_as_parameters_not_as_sql_text():
    """Bound on the client, psycopg writes every value into the statement as a quoted
    literal, in Python, one by one; bound on the server, the columns go as parameters."""
    if connection.vendor != "postgresql":
        pytest.skip("the server-side binding is PostgreSQL's: run the services tier")
    contact = ContactFactory()
    with CaptureQueriesContext(connection) as queries:
        insert_objects(new_messages(contact, [f"key-{i}-sent-as-a-parameter" for i in range(40)]))
        messages = list(Message.objects.order_by("pk"))
        for message in messages:
            message.last_error = f"error of {message.idempotency_key}"
        update_rows(messages, ["last_error"], where="locked_by = %s", where_params=["nobody"])
        update_rows(messages, ["last_error"], where="locked_by = %s", where_params=[""])
    written = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith(("INSERT", "UPDATE"))
    ]
    assert len(written) == 3
    assert all("sent-as-a-parameter" not in sql and "$1" in sql for sql in written), written
    assert Message.objects.filter(last_error__startswith="error of key-").count() == 40


def test_binary_parameters_keep_every_type():
    """Decimals, enums, an all-NULL column, JSON and aware timestamps written through the
    arrays read back as they were."""
    contact = ContactFactory()
    insert_objects(new_messages(contact, ["a", "b"]))
    a, b = Message.objects.order_by("idempotency_key")
    sent_at = timezone.now().replace(microsecond=123456)
    for message, cost in ((a, Decimal("0.00790")), (b, None)):
        message.status = MessageStatus.SENT
        message.cost, message.cost_currency, message.segments = cost, "EUR", None
        message.sent_at, message.rendered = sent_at, {"text": "Grüße, 'quoted' {braces}", "n": [1]}
    update_rows([a, b], ["status", "cost", "cost_currency", "segments", "sent_at", "rendered"])
    a, b = Message.objects.order_by("idempotency_key")
    assert (a.status, a.cost, b.cost, a.segments, b.segments) == (
        "sent",
        Decimal("0.00790"),
        None,
        None,
        None,
    )
    assert a.sent_at == b.sent_at == sent_at
    assert a.rendered == b.rendered == {"text": "Grüße, 'quoted' {braces}", "n": [1]}


FIELDS = ("uuid", "contact", "trigger_key", "triggered_at")


@pytest.fixture
def flow():
    return make_flow(name="Welcome", slug="welcome", steps=[])


def rows_for(contacts, prefix="k"):
    now = timezone.now()
    return [(uuid.uuid4(), c.pk, f"{prefix}{c.pk}", now) for c in contacts]


def test_rows_are_inserted_with_shared_values_and_defaults(flow):
    contacts = [ContactFactory() for _ in range(3)]
    rows = rows_for(contacts)
    when = timezone.now()
    inserted = insert_rows(
        Enrollment, FIELDS, rows, common={"flow": flow.pk, "enrolled_at": when}, returning="uuid"
    )
    assert set(inserted) == {row[0] for row in rows}
    enrollment = Enrollment.objects.get(uuid=rows[0][0])
    assert (enrollment.flow, enrollment.contact, enrollment.enrolled_at) == (
        flow, contacts[0], when
    )  # fmt: skip
    # Columns nobody gave take the field's default.
    assert (enrollment.state, enrollment.variants, enrollment.next_step) == ("active", {}, None)


def test_a_conflicting_row_is_skipped_and_not_returned(flow):
    contacts = [ContactFactory() for _ in range(3)]
    common = {"flow": flow.pk, "enrolled_at": timezone.now()}
    insert_rows(Enrollment, FIELDS, rows_for(contacts[:1]), common=common, returning="uuid")
    again = rows_for(contacts)  # the first trigger key exists already
    inserted = insert_rows(Enrollment, FIELDS, again, common=common, returning="uuid")
    assert set(inserted) == {row[0] for row in again[1:]}
    assert Enrollment.objects.count() == 3


def test_rows_past_the_backends_batch_size_go_in_several_statements(flow, monkeypatch):
    monkeypatch.setattr(connection.ops, "bulk_batch_size", lambda fields, objs: 2)
    rows = rows_for([ContactFactory() for _ in range(5)])
    common = {"flow": flow.pk, "enrolled_at": timezone.now()}
    assert len(insert_rows(Enrollment, FIELDS, rows, common=common, returning="uuid")) == 5


def test_a_unique_column_without_a_value_per_row_is_refused(flow):
    rows = [(c.pk, f"k{c.pk}", timezone.now()) for c in [ContactFactory(), ContactFactory()]]
    with pytest.raises(ValueError, match="uuid"):
        insert_rows(
            Enrollment, ("contact", "trigger_key", "triggered_at"), rows,
            common={"flow": flow.pk, "enrolled_at": timezone.now()}, returning="pk",
        )  # fmt: skip
    assert not Enrollment.objects.exists()


class PhoneLikeField(models.CharField):
    """A subclass that prepares its values its own way: never passed as it is."""

    def get_prep_value(self, value):
        return super().get_prep_value(value).replace(" ", "")


@pytest.mark.parametrize(
    "field, value",
    [
        (models.CharField(max_length=10), "ann"),
        (models.CharField(max_length=10), 42),  # not a str: Django makes it one
        (models.IntegerField(), 7),
        (models.IntegerField(), True),
        (models.IntegerField(), "7"),
        (models.BooleanField(), False),
        (models.UUIDField(), uuid.UUID(int=5)),
        (models.UUIDField(), "00000000-0000-0000-0000-000000000005"),
        (models.DateTimeField(), timezone.now()),
        (models.DateTimeField(), datetime(2026, 3, 1, 10, 30)),  # naive: Django makes it aware
        (models.DateTimeField(), "2026-03-01T10:30:00+00:00"),
        (Message._meta.get_field("contact"), 3),
        (Message._meta.get_field("content"), {"subject": "Hi"}),
        (PhoneLikeField(max_length=20), "+33 6 12"),
    ],
    ids=repr,
)
@pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime")
def test_values_are_prepared_as_django_would_prepare_them(field, value):
    # The rows' values skip Django's field preparation when it would return them as they
    # are; whatever the database, what is written is what Django would write.
    [[prepared]] = _prepared_rows([field], [[value]], connection)
    expected = field.get_db_prep_save(value, connection)
    # (Django wraps an int in psycopg's Int4 for server-side binding; either is the same
    # integer to PostgreSQL.)
    assert isinstance(prepared, type(expected)) or isinstance(expected, type(prepared))
    assert prepared == expected or (
        hasattr(expected, "obj") and prepared.obj == expected.obj  # psycopg's Jsonb wrapper
    )


def plan_nodes(plan):
    """Every node of an ``EXPLAIN (FORMAT JSON)`` plan, depth first."""
    yield plan
    for child in plan.get("Plans", ()):
        yield from plan_nodes(child)


@pytest.mark.services
def test_a_guarded_update_reads_only_the_rows_it_writes():
    """A guard such as ``locked_by = 'this worker'`` is one the statistics cannot know (a
    worker's name is new to them): planned on its value, the update read every active
    enrollment to write a batch, or scanned the batch again for each of its rows."""
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's: run the services tier")
    flow = make_flow(name="Welcome", slug="welcome", steps=[])
    now = timezone.now()
    contacts = Contact.objects.bulk_create(
        Contact(email=f"c{i}@example.com") for i in range(20_000)
    )
    Enrollment.objects.bulk_create(
        Enrollment(flow=flow, contact=c, trigger_key=f"k{c.pk}", triggered_at=now, next_step_at=now)
        for c in contacts
    )
    batch = list(Enrollment.objects.order_by("pk")[:200])
    Enrollment.objects.filter(pk__in=[e.pk for e in batch]).update(locked_by="worker-1")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE omnichannel_enrollment")
    plans = []

    def explained(execute, sql, params, many, context):
        execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params, many, context)
        plan = context["cursor"].fetchone()[0]
        plans.append((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])

    for enrollment in batch:
        enrollment.locked_by = ""
    with connection.execute_wrapper(explained):
        update_rows(
            batch, ["locked_by"], where="locked_by = %s AND state = %s",
            where_params=["worker-1", "active"],
        )  # fmt: skip
    assert not Enrollment.objects.filter(locked_by="worker-1").exists()
    (plan,) = plans
    nodes = list(plan_nodes(plan))
    read = sum(
        n["Actual Rows"] * n["Actual Loops"] + n.get("Rows Removed by Filter", 0)
        for n in nodes
        if n.get("Relation Name") == "omnichannel_enrollment"
    )
    assert read <= len(batch), (read, nodes)
    unnests = [n for n in nodes if n["Node Type"] == "Function Scan"]
    assert [n["Actual Loops"] for n in unnests] == [1], unnests
