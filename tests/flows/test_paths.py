"""Paths through a flow: contacts wait for a step by id, yes / no splits, ends, and the
checks that refuse a path the engine could not follow."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from omnichannel.flows import validation
from omnichannel.flows.engine import advance_due, enroll
from omnichannel.flows.lifecycle import copy_flow
from omnichannel.flows.preview import dry_run, dry_run_enrolled
from omnichannel.models import Enrollment, Message, Step, StepContent, StepVariant, StepVisit
from omnichannel.testing.factories import ContactFactory

from .conftest import make_flow
from .test_admin import flow_url, page, step_data, step_url

pytestmark = pytest.mark.django_db

SMS_AGREED = [{"name": "consent_for", "params": {"channel": "sms"}}]


def later(**delta):
    return timezone.now() + timedelta(**delta)


@pytest.fixture
def ann():
    return ContactFactory(first_name="Ann", phone="+33612345678", consents=["email", "sms"])


def sent_steps():
    return list(Message.objects.order_by("id").values_list("step__name", flat=True))


def step(flow, name):
    return flow.steps.get(name=name)


def waiting_for(enrollment):
    enrollment.refresh_from_db()
    return enrollment.next_step.name if enrollment.next_step else None


def message_step(flow, name, position, delay=timedelta(0), channel="email", **links):
    created = Step.objects.create(
        flow=flow, name=name, position=position, delay=delay, channel=channel, **links
    )
    StepContent.objects.create(step=created, channel=channel, subject=name, text=name)
    return created


class TestWaitingContactsKeepTheirStep:
    def test_a_new_enrollment_waits_for_the_first_step(self, welcome, ann):
        enrollment = enroll(welcome, ann, trigger_key="a")
        assert (waiting_for(enrollment), enrollment.trigger) == ("Hello", "signup")

    def test_reordering_steps_leaves_them_on_the_step_they_were_due_for(self, welcome, ann):
        enrollment = enroll(welcome, ann, trigger_key="a")
        advance_due()
        assert waiting_for(enrollment) == "Reminder"
        # Staff move the last nudge up, where the reminder was.
        Step.objects.filter(pk=step(welcome, "Last nudge").pk).update(position=1)
        Step.objects.filter(pk=step(welcome, "Reminder").pk).update(position=2)
        assert waiting_for(enrollment) == "Reminder"
        advance_due(now=later(days=2, minutes=1))
        # The reminder is last now: after it the path ends, by the order staff gave.
        assert sent_steps() == ["Hello", "Reminder"]
        enrollment.refresh_from_db()
        assert (enrollment.state, enrollment.next_step) == ("completed", None)

    def test_inserting_a_step_before_theirs_does_not_move_them(self, welcome, ann):
        enrollment = enroll(welcome, ann, trigger_key="a")
        advance_due()
        for moved in welcome.steps.filter(position__gte=1):
            Step.objects.filter(pk=moved.pk).update(position=moved.position + 1)
        message_step(welcome, "Inserted", position=1, delay=timedelta(days=1))
        advance_due(now=later(days=2, minutes=1))
        assert sent_steps() == ["Hello", "Reminder"]
        assert waiting_for(enrollment) == "Last nudge"

    def test_deleting_their_step_moves_them_to_the_one_that_followed_it(self, welcome, ann):
        enrollment = enroll(welcome, ann, trigger_key="a")
        advance_due()
        due = Enrollment.objects.get(pk=enrollment.pk).next_step_at
        step(welcome, "Reminder").delete()
        assert waiting_for(enrollment) == "Last nudge"
        assert enrollment.next_step_at == due  # due when they were due for the deleted one
        advance_due(now=later(days=2, minutes=1))
        assert sent_steps() == ["Hello", "Last nudge"]

    def test_deleting_the_last_step_they_wait_for_completes_them(self, welcome, ann):
        enrollment = enroll(welcome, ann, trigger_key="a")
        welcome.steps.exclude(name="Hello").delete()
        step(welcome, "Hello").delete()
        enrollment.refresh_from_db()
        assert (enrollment.state, enrollment.next_step) == ("completed", None)
        assert enrollment.ended_at is not None

    def test_deleting_a_step_keeps_the_links_through_it(self, welcome):
        hello, reminder, nudge = welcome.steps.order_by("position")
        Step.objects.filter(pk=hello.pk).update(next_step=reminder)
        Step.objects.filter(pk=reminder.pk).update(next_step=nudge)
        reminder.delete()
        assert Step.objects.get(pk=hello.pk).next_step == nudge

    def test_a_link_that_would_point_at_its_own_step_means_the_next_in_order(self, welcome):
        hello, reminder, _nudge = welcome.steps.order_by("position")
        Step.objects.filter(pk=hello.pk).update(next_step=reminder)
        Step.objects.filter(pk=reminder.pk).update(next_step=hello)
        reminder.delete()
        assert Step.objects.get(pk=hello.pk).next_step is None


@pytest.fixture
def split_flow():
    """Hello, then a split two days later: who agreed to SMS get a text, the others an
    email; both paths end with a thank-you a day later, then an end step."""
    flow = make_flow(slug="split", steps=[("Hello", timedelta(0), "email")])
    thanks = message_step(flow, "Thanks", 4, delay=timedelta(days=1))
    end = Step.objects.create(flow=flow, name="End", position=5, kind="exit")
    Step.objects.filter(pk=thanks.pk).update(next_step=end)
    text = message_step(flow, "Text", 2, channel="sms", next_step=thanks)
    email = message_step(flow, "Email", 3, next_step=thanks)
    Step.objects.create(
        flow=flow,
        name="Agreed to SMS?",
        position=1,
        kind="split",
        delay=timedelta(days=2),
        conditions=SMS_AGREED,
        next_step=text,
        no_next_step=email,
    )
    message_step(flow, "Never reached", 6)
    return flow


class TestSplits:
    def run_through(self, contact, flow):
        enrollment = enroll(flow, contact, trigger_key=f"k{contact.pk}")
        for days in (0, 2, 3, 4, 5):
            advance_due(now=later(days=days, minutes=1))
        enrollment.refresh_from_db()
        return enrollment

    def test_contacts_meeting_the_condition_go_the_yes_way(self, split_flow, ann):
        enrollment = self.run_through(ann, split_flow)
        assert sent_steps() == ["Hello", "Text", "Thanks"]
        assert (enrollment.state, enrollment.next_step) == ("completed", None)

    def test_the_others_go_the_no_way(self, split_flow):
        bob = ContactFactory(consents=["email"])
        enrollment = self.run_through(bob, split_flow)
        assert sent_steps() == ["Hello", "Email", "Thanks"]
        assert enrollment.state == "completed"

    def test_the_split_waits_its_delay_and_sends_nothing_itself(self, split_flow, ann):
        enrollment = enroll(split_flow, ann, trigger_key="a")
        advance_due(now=later(minutes=1))
        assert waiting_for(enrollment) == "Agreed to SMS?"
        advance_due(now=later(days=1))
        assert waiting_for(enrollment) == "Agreed to SMS?"
        report = advance_due(now=later(days=2, minutes=1))
        assert (report.queued, waiting_for(enrollment)) == (0, "Text")

    def test_a_linear_flow_passes_and_a_split_path_passes_validation(self, split_flow, welcome):
        assert validation.blocking(welcome) == []
        assert validation.blocking(split_flow) == []
        [unreached] = validation.problems(split_flow)
        assert not unreached.blocking
        assert unreached.text == "Step 7 “Never reached”: no path leads to it, so nobody gets it."


class TestPathValidation:
    def blocking_texts(self, flow):
        return [problem.text for problem in validation.blocking(flow)]

    def test_a_loop_without_a_delay_is_refused_naming_its_steps(self, welcome):
        hello, reminder, nudge = welcome.steps.order_by("position")
        Step.objects.filter(pk__in=[reminder.pk, nudge.pk]).update(delay=timedelta(0))
        Step.objects.filter(pk=nudge.pk).update(next_step=reminder)
        assert self.blocking_texts(welcome) == [
            "Step 2 “Reminder”, Step 3 “Last nudge” lead back to each other without a delay: "
            "a contact would go round at once, again and again. Give one of them a delay, or "
            "break the loop."
        ]

    def test_a_loop_that_waits_is_allowed(self, welcome):
        hello, reminder, nudge = welcome.steps.order_by("position")
        Step.objects.filter(pk=nudge.pk).update(next_step=reminder)  # the reminder waits 2 days
        assert self.blocking_texts(welcome) == []

    def test_a_variant_delay_makes_a_loop_wait(self, welcome):
        hello, reminder, nudge = welcome.steps.order_by("position")
        Step.objects.filter(pk__in=[reminder.pk, nudge.pk]).update(delay=timedelta(0))
        Step.objects.filter(pk=nudge.pk).update(next_step=reminder)
        variant = StepVariant.objects.create(step=nudge, name="B", delay=timedelta(hours=1))
        StepContent.objects.create(
            step=nudge, variant=variant, channel="email", subject="B", text="B"
        )
        assert self.blocking_texts(welcome) == []

    def test_a_link_to_another_flow_is_refused(self, welcome):
        other = make_flow(slug="other")
        Step.objects.filter(pk=step(welcome, "Hello").pk).update(next_step=other.steps.get())
        assert self.blocking_texts(welcome) == [
            "Step 1 “Hello” leads to a step of another flow: choose one of this flow."
        ]

    def test_a_split_needs_a_condition(self, welcome):
        Step.objects.create(flow=welcome, name="Which way?", position=3, kind="split")
        assert self.blocking_texts(welcome) == [
            "Step 4 “Which way?” splits the path but has no condition: choose who goes the "
            "“then” way; the others go the “otherwise” way."
        ]

    def test_split_and_end_steps_need_no_content(self, welcome):
        Step.objects.create(
            flow=welcome, name="Which way?", position=3, kind="split", conditions=SMS_AGREED
        )
        Step.objects.create(flow=welcome, name="End", position=4, kind="exit")
        assert self.blocking_texts(welcome) == []


class TestStepPage:
    """Staff pick where a step leads among the steps of its own flow."""

    def post(self, client, target, **fields):
        return client.post(step_url(target), step_data(target, **fields))

    def test_staff_make_a_split_and_pick_its_two_ways(self, admin_client, split_flow):
        split = step(split_flow, "Agreed to SMS?")
        text, email = step(split_flow, "Text"), step(split_flow, "Email")
        page = admin_client.get(step_url(split)).content.decode()
        assert "3. Text (Message)" in page and "The next step in the order" in page
        fields = {"kind": "split", "next_step": email.pk, "no_next_step": text.pk}
        fields.update({"conditions-rows": "1", "conditions-0-name": "has_ordered"})
        response = self.post(admin_client, split, **fields)
        assert response.status_code == 302, response.context and response.context["errors"]
        split.refresh_from_db()
        assert (split.next_step, split.no_next_step) == (email, text)

    def test_a_step_of_another_flow_is_not_a_choice(self, admin_client, split_flow, welcome):
        hello = step(split_flow, "Hello")
        response = self.post(admin_client, hello, next_step=step(welcome, "Reminder").pk)
        assert response.status_code == 200
        assert response.context["adminform"].form.errors["next_step"] == [
            "Select a valid choice. That choice is not one of the available choices."
        ]

    def test_only_a_split_has_an_otherwise_way(self, admin_client, split_flow):
        hello = step(split_flow, "Hello")
        response = self.post(admin_client, hello, no_next_step=step(split_flow, "Text").pk)
        assert response.context["adminform"].form.errors["no_next_step"] == [
            "Only a split has an “otherwise” way: leave this empty."
        ]

    def test_an_end_leads_nowhere(self, admin_client, split_flow):
        end = step(split_flow, "End")
        response = self.post(admin_client, end, next_step=step(split_flow, "Text").pk)
        assert response.context["adminform"].form.errors["next_step"] == [
            "An end of the path leads nowhere: leave this empty."
        ]


class TestDryRun:
    def test_the_dry_run_follows_each_contact_s_way(self, split_flow, ann):
        bob = ContactFactory(consents=["email"])
        plans = dry_run(split_flow, [ann, bob])
        assert [[p.step.name for p in plan.steps] for plan in plans] == [
            ["Hello", "Text", "Thanks"],
            ["Hello", "Email", "Thanks"],
        ]
        # The split's two days count: the text goes two days after the hello.
        hello, text, _thanks = plans[0].steps
        assert text.at - hello.at == timedelta(days=2)

    def test_an_enrolled_contact_is_past_the_steps_before_theirs(self, split_flow, ann):
        enrollment = enroll(split_flow, ann, trigger_key="a")
        advance_due(now=later(minutes=1))
        advance_due(now=later(days=2, minutes=2))
        assert waiting_for(enrollment) == "Text"
        enrollment = Enrollment.objects.select_related("flow", "contact", "cart").get()
        [plan] = dry_run_enrolled([enrollment])
        assert [(p.step.name, p.done) for p in plan.steps] == [
            ("Hello", True), ("Text", False), ("Thanks", False),
        ]  # fmt: skip

    def test_a_contact_sent_the_other_way_sees_the_way_ahead(self, split_flow, ann):
        enrollment = enroll(split_flow, ann, trigger_key="a")
        Enrollment.objects.filter(pk=enrollment.pk).update(next_step=step(split_flow, "Email"))
        enrollment = Enrollment.objects.select_related("flow", "contact", "cart").get()
        [plan] = dry_run_enrolled([enrollment])
        assert [(p.step.name, p.done) for p in plan.steps] == [
            ("Email", False), ("Thanks", False),
        ]  # fmt: skip


def test_a_copy_keeps_its_ways_between_its_own_steps(split_flow):
    copy = copy_flow(split_flow)
    ways = {
        s.name: (getattr(s.next_step, "name", None), getattr(s.no_next_step, "name", None))
        for s in copy.steps.select_related("next_step", "no_next_step")
    }
    assert ways["Agreed to SMS?"] == ("Text", "Email") and ways["Thanks"] == ("End", None)
    assert not copy.steps.filter(next_step__flow=split_flow).exists()
    assert validation.blocking(copy) == []


def test_the_flow_page_says_where_each_step_leads(admin_client, split_flow):
    html = page(admin_client.get(flow_url(split_flow)))
    assert "yes: 3. Text · no: 4. Email" in html
    assert "ends the path" in html and "sends nothing" in html
    assert "the next in order" in html  # Hello: no way of its own


def test_a_split_s_page_has_no_contents_to_edit(admin_client, split_flow):
    html = page(admin_client.get(step_url(step(split_flow, "Agreed to SMS?"))))
    assert "contents-TOTAL_FORMS" not in html and "Where it leads" in html
    text = page(admin_client.get(step_url(step(split_flow, "Text"))))
    assert "contents-TOTAL_FORMS" in text


def test_deciding_a_batch_at_a_split_costs_the_same_at_two_sizes(settings, split_flow):
    """Splits decide on the facts read for the whole batch; the visits are one insert."""
    Step.objects.filter(flow=split_flow, name="Agreed to SMS?").update(delay=timedelta(0))
    # Both ways wait a day: the first round's contacts are not due in the second.
    Step.objects.filter(flow=split_flow, name__in=["Text", "Email"]).update(delay=timedelta(1))
    counts = []
    for size in (2, 7):
        for i in range(size):
            consents = ["email", "sms"] if i % 2 else ["email"]
            enroll(split_flow, ContactFactory(consents=consents), trigger_key=f"{size}:{i}")
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "FLOW_BATCH_SIZE": size}
        advance_due()  # Hello, for the newcomers
        with CaptureQueriesContext(connection) as captured:
            report = advance_due(now=later(seconds=1))  # the split, for the same ones
        assert (report.claimed, report.queued) == (size, 0)
        counts.append(len(captured))
    assert counts[0] == counts[1]
    ways = StepVisit.objects.filter(step__kind="split").values_list("branch", flat=True)
    assert sorted(ways) == sorted([bool(i % 2) for size in (2, 7) for i in range(size)])
