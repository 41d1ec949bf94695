"""Builders for flows in tests."""

from datetime import timedelta

import pytest
from django.utils import timezone

from omnichannel.models import Flow, Step, StepContent
from omnichannel.models.flows import FlowStatus


def make_flow(*, steps=(("Welcome", timedelta(0), "email"),), **fields):
    """An active flow with one email content per step."""
    fields.setdefault("name", "Welcome series")
    fields.setdefault("slug", "welcome")
    fields.setdefault("kind", "welcome")
    fields.setdefault("trigger", "signup")
    fields.setdefault("exit_goals", ["ordered"])
    fields.setdefault("status", FlowStatus.ACTIVE)
    fields.setdefault("activated_at", timezone.now() - timedelta(days=1))
    flow = Flow.objects.create(**fields)
    for position, (name, delay, channel) in enumerate(steps):
        step = Step.objects.create(
            flow=flow, position=position, name=name, delay=delay, channel=channel
        )
        for content_channel in ["email", "sms", "push"] if channel == "best" else [channel]:
            StepContent.objects.create(
                step=step,
                channel=content_channel,
                subject=f"{name} {{{{ contact.first_name }}}}",
                text=f"{name} text",
                title=name,
                body=f"{name} body",
            )
    return flow


@pytest.fixture
def welcome(db):
    return make_flow(
        steps=[
            ("Hello", timedelta(0), "email"),
            ("Reminder", timedelta(days=2), "email"),
            ("Last nudge", timedelta(days=5), "email"),
        ]
    )
