"""The migration from step positions to step ids keeps every waiting contact's step."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("omnichannel", "0014_email_blocks")]
AFTER = [("omnichannel", "0015_flow_paths")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_the_latest_schema():
    """The tests after this one share its database: leave it fully migrated, however many
    migrations have come after the one tested here."""
    yield
    executor = MigrationExecutor(connection)
    migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_schema")
def test_positions_become_steps_and_back():
    apps = migrate(BEFORE)
    Flow, Step = apps.get_model("omnichannel", "Flow"), apps.get_model("omnichannel", "Step")
    Contact = apps.get_model("omnichannel", "Contact")
    Enrollment = apps.get_model("omnichannel", "Enrollment")
    flow = Flow.objects.create(name="W", slug="w", kind="welcome", trigger="popup_subscribed")
    # Positions with a gap and a tie: the engine read them in (position, id) order.
    steps = [Step.objects.create(flow=flow, name=n, position=p) for n, p in [("A", 0), ("B", 4)]]
    steps.append(Step.objects.create(flow=flow, name="C", position=4))
    now = timezone.now()
    waiting = {}
    for position in (0, 1, 2, 3):
        contact = Contact.objects.create(email=f"c{position}@example.com")
        waiting[position] = Enrollment.objects.create(
            flow=flow, contact=contact, trigger_key=f"k{position}", triggered_at=now,
            next_position=position, next_step_at=now + timedelta(days=1),
        ).pk  # fmt: skip

    apps = migrate(AFTER)
    Enrollment = apps.get_model("omnichannel", "Enrollment")
    moved = {
        position: Enrollment.objects.select_related("next_step").get(pk=pk)
        for position, pk in waiting.items()
    }
    assert [e.next_step.name if e.next_step else None for e in moved.values()] == [
        "A", "B", "C", None,  # position 3 was past the last step: the engine completes it
    ]  # fmt: skip
    assert {e.trigger for e in moved.values()} == {"popup_subscribed"}

    apps = migrate(BEFORE)
    Enrollment = apps.get_model("omnichannel", "Enrollment")
    back = [Enrollment.objects.get(pk=pk).next_position for pk in waiting.values()]
    assert back[:3] == [0, 1, 2] and back[3] >= 3
