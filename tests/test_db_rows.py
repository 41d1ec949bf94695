"""``insert_rows``: many new rows in one statement, conflicts skipped, no instances."""

import uuid

import pytest
from django.db import connection
from django.utils import timezone

from omnichannel.core.db import insert_rows
from omnichannel.models import Enrollment
from omnichannel.testing.factories import ContactFactory

from .flows.conftest import make_flow

pytestmark = pytest.mark.django_db

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
    assert (enrollment.state, enrollment.variants, enrollment.next_position) == ("active", {}, 0)


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
