"""Who cart recovery reaches: carts with lines, transactional mode only after checkout, the
best channel chosen for the reminder's purpose, and the dashboard counting the carts a
reminder could reach apart from those it could not."""

from datetime import timedelta

import pytest
from django.utils import timezone

from omnichannel.carts.carts import upsert_snapshot
from omnichannel.carts.recovery import detect_abandoned
from omnichannel.carts.recovery_report import recovery_report
from omnichannel.contacts.consent import grant_consent, withdraw_consent
from omnichannel.flows.engine import advance_due
from omnichannel.integrations import CartLine
from omnichannel.models import CartSnapshot, Enrollment, Message
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory

from ..conftest import LOCMEM
from .conftest import make_flow

pytestmark = pytest.mark.django_db


def ago(**delta):
    return timezone.now() - timedelta(**delta)


def idle_cart(contact, **fields):
    return CartSnapshotFactory(contact=contact, last_activity_at=ago(minutes=40), **fields)


@pytest.fixture
def transactional(settings):
    settings.OMNICHANNEL = {
        **settings.OMNICHANNEL,
        "CART_RECOVERY_TRANSACTIONAL": True,
        "CHANNEL_BACKENDS": {"email": LOCMEM, "inbox": LOCMEM},
    }


def best_channel_recovery():
    """A recovery whose first step goes on the best available channel, like the default."""
    return make_flow(
        name="Cart recovery",
        slug="cart-recovery",
        kind="cart_recovery",
        trigger="cart_abandoned",
        exit_goals=["ordered", "cart_emptied"],
        steps=[("Reminder", timedelta(hours=1), "best")],
    )


class TestTransactionalMode:
    def test_only_carts_that_reached_checkout_are_reminded(self, transactional):
        best_channel_recovery()
        at_checkout = idle_cart(ContactFactory(), checkout_started_at=ago(minutes=45))
        idle_cart(ContactFactory())  # an email known from elsewhere (a popup, an old order)
        report = detect_abandoned()
        assert (report.abandoned, report.enrolled, report.unreachable) == (2, 1, 1)
        assert Enrollment.objects.get().cart == at_checkout

    def test_the_best_channel_is_chosen_for_a_transactional_reminder(self, transactional):
        best_channel_recovery()
        guest = ContactFactory()  # no marketing consent on any channel
        idle_cart(guest, checkout_started_at=ago(minutes=45))
        detect_abandoned()
        report = advance_due(now=timezone.now() + timedelta(hours=1, minutes=1))
        message = Message.objects.get()
        assert (report.queued, message.channel, message.purpose) == (1, "email", "transactional")

    def test_a_refused_channel_is_not_chosen(self, transactional):
        best_channel_recovery()
        guest = ContactFactory()
        withdraw_consent(guest, "email", source="unsubscribe", purpose="transactional")
        idle_cart(guest, checkout_started_at=ago(minutes=45))
        detect_abandoned()
        report = advance_due(now=timezone.now() + timedelta(hours=1, minutes=1))
        assert report.skipped == 1 and not Message.objects.exists()

    def test_marketing_consent_still_goes_first(self, transactional):
        best_channel_recovery()
        fan = ContactFactory()
        grant_consent(fan, "email", source="popup")
        idle_cart(fan)
        detect_abandoned()
        advance_due(now=timezone.now() + timedelta(hours=1, minutes=1))
        assert Message.objects.get().purpose == "marketing"

    def test_checkout_is_kept_from_the_first_time(self):
        line = CartLine(product_id="1", name="Mug", quantity=1, unit_price=10)
        upsert_snapshot(cart_key="k", lines=[line], value=10, currency="EUR", checkout=True)
        first = CartSnapshot.objects.get().checkout_started_at
        upsert_snapshot(cart_key="k", lines=[line], value=10, currency="EUR", checkout=True)
        upsert_snapshot(cart_key="k", lines=[line], value=10, currency="EUR")
        assert first is not None and CartSnapshot.objects.get().checkout_started_at == first


class TestEmptyCarts:
    def test_an_idle_empty_cart_is_not_abandoned(self):
        empty = idle_cart(ContactFactory(consents=["email"]), lines=[], item_count=0, value=0)
        report = detect_abandoned()
        empty.refresh_from_db()
        assert (report.abandoned, report.claimed, empty.status) == (0, 1, "expired")
        assert detect_abandoned().claimed == 0  # never looked at again

    def test_a_change_opens_an_expired_empty_cart_again(self):
        idle_cart(None, cart_key="k", lines=[], item_count=0, value=0)
        detect_abandoned()
        line = CartLine(product_id="1", name="Mug", quantity=1, unit_price=10)
        upsert_snapshot(cart_key="k", lines=[line], value=10, currency="EUR")
        assert CartSnapshot.objects.get().status == "open"


class TestDashboardCounts:
    def test_unreachable_carts_are_counted_apart(self):
        best_channel_recovery()
        idle_cart(ContactFactory(consents=["email"]))
        idle_cart(ContactFactory())  # no consent
        idle_cart(None)  # nobody known
        idle_cart(None, lines=[], item_count=0, value=0)  # empty: no abandoned cart at all
        detect_abandoned()
        assert list(CartSnapshot.objects.filter(item_count__gt=0).values_list(
            "reachable", flat=True
        ).order_by("reachable")) == [False, False, True]  # fmt: skip
        today = timezone.localdate()
        report = recovery_report(today - timedelta(days=1), today + timedelta(days=1))
        assert (report.abandoned, report.unreachable) == (1, 2)


def test_the_flow_says_its_offer_steps_skip_transactional_contacts(settings):
    from omnichannel.flows.defaults import install_defaults
    from omnichannel.flows.validation import problems

    [recovery] = [f for f, _ in install_defaults() if f.kind == "cart_recovery"]
    assert not [p for p in problems(recovery) if "transactional" in p.text]
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "CART_RECOVERY_TRANSACTIONAL": True}
    warned = [p for p in problems(recovery) if "CART_RECOVERY_TRANSACTIONAL" in p.text]
    offer_steps = [s for s in recovery.steps.all() if s.has_offer]
    assert offer_steps and {p.step.pk for p in warned} == {s.pk for s in offer_steps}
    assert not any(p.blocking for p in warned)  # a warning: activation is not refused
