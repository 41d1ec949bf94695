"""Status changes of flows, the same for the admin, the install command and code."""

from datetime import timedelta

import pytest
from django.utils import timezone

from omnichannel.flows import lifecycle
from omnichannel.models import Enrollment, Flow
from omnichannel.models.flows import EnrollmentState, FlowStatus
from omnichannel.testing.factories import ContactFactory

from .conftest import make_flow

pytestmark = pytest.mark.django_db


def test_activating_needs_a_valid_flow_and_keeps_the_first_activation():
    first = timezone.now() - timedelta(days=30)
    archived = make_flow(status=FlowStatus.ARCHIVED, activated_at=first)
    empty = make_flow(slug="empty", status=FlowStatus.DRAFT, activated_at=None, steps=())
    switched = lifecycle.activate(Flow.objects.order_by("pk"))
    assert switched.done == [archived]
    [(refused, problems)] = switched.refused
    assert refused == empty and "no steps" in problems[0].text
    archived.refresh_from_db()
    assert (archived.status, archived.activated_at) == (FlowStatus.ACTIVE, first)


def test_resuming_touches_only_paused_flows():
    paused = make_flow(status=FlowStatus.PAUSED)
    make_flow(slug="draft", status=FlowStatus.DRAFT, activated_at=None)
    assert lifecycle.resume(Flow.objects.all()).done == [paused]
    assert Flow.objects.get(slug="draft").status == FlowStatus.DRAFT


def test_pausing_and_archiving():
    flow = make_flow()
    enrollment = Enrollment.objects.create(
        flow=flow, contact=ContactFactory(), trigger_key="t", triggered_at=timezone.now()
    )
    assert lifecycle.pause(Flow.objects.all()) == 1
    assert lifecycle.pause(Flow.objects.all()) == 0  # paused already
    assert lifecycle.archive(Flow.objects.all()) == (1, 1)
    enrollment.refresh_from_db()
    assert enrollment.state == EnrollmentState.EXITED


def test_a_copy_is_a_draft_with_a_free_slug():
    flow = make_flow()
    first, second = lifecycle.copy_flow(flow), lifecycle.copy_flow(flow)
    assert (first.slug, second.slug) == ("welcome-copy", "welcome-copy-2")
    assert (first.status, first.activated_at, first.steps.count()) == ("draft", None, 1)
