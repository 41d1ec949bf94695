"""Flows started by several triggers: each one enrols, a contact goes through once."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from omnichannel import signals
from omnichannel.flows.defaults import install_defaults
from omnichannel.flows.engine import Entry, advance_due, enroll_triggered, triggered_flows
from omnichannel.flows.lifecycle import activate
from omnichannel.models import Contact, Enrollment, Flow, Message
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory, PopupFactory

from .conftest import make_flow

pytestmark = pytest.mark.django_db


@pytest.fixture
def welcome():
    return make_flow(
        also_triggered_by=["popup_subscribed"],
        steps=[("Hello", timedelta(0), "email"), ("Reminder", timedelta(days=2), "email")],
    )


def subscribe(contact):
    signals.popup_subscribed.send(sender=Contact, contact=contact, popup=PopupFactory())


def sign_up(contact):
    contact.signed_up_at = timezone.now()
    contact.save(update_fields=["signed_up_at"])
    signals.signup_tracked.send(sender=Contact, contact=contact)


def go_through(contact):
    for days in (0, 2, 4):
        advance_due(now=timezone.now() + timedelta(days=days, minutes=1))
    return list(
        Message.objects.filter(contact=contact).order_by("id").values_list("step__name", flat=True)
    )


class TestSeveralTriggers:
    def test_a_popup_subscriber_then_signing_up_gets_the_series_once(self, welcome):
        ann = ContactFactory(consents=["email"])
        subscribe(ann)
        sign_up(ann)
        [enrollment] = Enrollment.objects.filter(flow=welcome)
        assert (enrollment.contact, enrollment.trigger) == (ann, "popup_subscribed")
        assert go_through(ann) == ["Hello", "Reminder"]

    def test_signing_up_then_subscribing_gets_it_once_too(self, welcome):
        ann = ContactFactory(consents=["email"])
        sign_up(ann)
        subscribe(ann)
        assert list(Enrollment.objects.values_list("trigger", flat=True)) == ["signup"]
        assert go_through(ann) == ["Hello", "Reminder"]

    def test_with_a_cooldown_the_second_trigger_waits_while_they_are_in_it(self, welcome):
        Flow.objects.filter(pk=welcome.pk).update(reentry_cooldown=timedelta(hours=1))
        ann = ContactFactory(consents=["email"])
        subscribe(ann)
        sign_up(ann)
        assert Enrollment.objects.count() == 1

    def test_a_flow_not_started_by_the_trigger_is_left_alone(self, welcome):
        make_flow(slug="signup-only", name="Signup only")
        subscribe(ContactFactory(consents=["email"]))
        assert list(Enrollment.objects.values_list("flow__slug", flat=True)) == ["welcome"]

    def test_triggered_flows_reads_main_and_extra_triggers(self, welcome):
        recovery = make_flow(slug="carts", trigger="custom_event", trigger_event="x")
        Flow.objects.filter(pk=recovery.pk).update(also_triggered_by=["cart_abandoned"])
        # Drafts start nothing; a name inside another is no match ("popup_subscribed").
        make_flow(slug="draft", status="draft", also_triggered_by=["cart_abandoned"])

        def slugs(name):
            return sorted(triggered_flows(name).values_list("slug", flat=True))

        assert slugs("cart_abandoned") == ["carts"]
        assert slugs("popup_subscribed") == ["welcome"]
        assert slugs("signup") == ["welcome"]
        assert slugs("subscribed") == []

    def test_an_abandoned_cart_starts_a_flow_that_lists_it_as_an_extra(self):
        flow = make_flow(slug="carts", kind="cart_recovery", trigger="custom_event",
                         trigger_event="x", also_triggered_by=["cart_abandoned"])  # fmt: skip
        contact = ContactFactory(consents=["email"])
        cart = CartSnapshotFactory(contact=contact)
        entry = Entry(contact=None, contact_id=contact.pk, cart=cart, trigger_key="cart:1",
                      triggered_at=timezone.now())  # fmt: skip
        assert enroll_triggered("cart_abandoned", [entry]) == 1
        assert Enrollment.objects.get(flow=flow).trigger == "cart_abandoned"

    def test_the_shipped_welcome_series_welcomes_popup_subscribers(self):
        install_defaults()
        welcome = Flow.objects.get(slug="welcome")
        assert (welcome.trigger, welcome.also_triggered_by) == ("signup", ["popup_subscribed"])
        assert activate([welcome]).done == [welcome]
        ann = ContactFactory(consents=["email"])
        subscribe(ann)
        assert Enrollment.objects.get(contact=ann).flow == welcome


class TestValidatingTriggers:
    def errors(self, **fields):
        flow = Flow(name="F", slug="f", kind="custom", trigger="signup", **fields)
        with pytest.raises(ValidationError) as caught:
            flow.full_clean()
        return caught.value.message_dict["also_triggered_by"]

    def test_unknown_triggers_are_named(self):
        [error] = self.errors(also_triggered_by=["signup_later"])
        assert error.startswith("Unknown trigger: signup_later. Choose from: signup, ")

    def test_a_trigger_listed_twice(self):
        assert self.errors(also_triggered_by=["first_order", "first_order"]) == [
            "A trigger is listed twice."
        ]

    def test_the_main_trigger_again(self):
        assert self.errors(also_triggered_by=["signup"]) == [
            "The main trigger need not be listed again."
        ]

    def test_not_a_list(self):
        assert self.errors(also_triggered_by="first_order") == [
            "Give the extra triggers as a list."
        ]


class TestAdmin:
    def data(self, **fields):
        return {
            "name": "Welcome",
            "slug": "welcome",
            "kind": "welcome",
            "priority": "0",
            "trigger": "signup",
            "trigger_event": "",
            "conditions-rows": "0",
            "reentry_cooldown": "",
            "exit_goals": ["ordered"],
            "holdout_percent": "0",
            "conversion_window": "5 00:00:00",
            "steps-TOTAL_FORMS": "0",
            "steps-INITIAL_FORMS": "0",
            "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "1000",
            **fields,
        }

    def test_staff_tick_more_triggers(self, admin_client):
        data = self.data(also_triggered_by=["popup_subscribed", "signup"])
        response = admin_client.post(reverse("admin:omnichannel_flow_add"), data)
        assert response.status_code == 302, response.context and response.context["errors"]
        # Ticking the main trigger too is harmless: it is not stored twice.
        assert Flow.objects.get().also_triggered_by == ["popup_subscribed"]

    def test_a_custom_event_among_them_needs_its_name(self, admin_client):
        data = self.data(also_triggered_by=["custom_event"])
        response = admin_client.post(reverse("admin:omnichannel_flow_add"), data)
        assert response.status_code == 200
        assert response.context["adminform"].form.errors["trigger_event"] == [
            "Name the event that starts this flow, as track_event() gets it."
        ]
