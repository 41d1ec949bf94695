"""Segments: the queryset translations agree with the conditions, and flows can use them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django import forms
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models.deletion import ProtectedError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from omnichannel.contacts import segments
from omnichannel.contacts.consent import grant_consent, withdraw_consent
from omnichannel.contacts.privacy.erasure import erased_contacts
from omnichannel.flows import conditions
from omnichannel.flows.engine import Entry, enroll, enroll_many
from omnichannel.models import Contact, Segment, Step, TrackedOrder
from omnichannel.models.privacy import ERASED_CONTACT_UUID
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory

from ..flows.conftest import make_flow

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cached_segments():
    cache.clear()  # segments of a previous test, rolled back, must not answer
    yield
    cache.clear()


def order(contact, purchase=True):
    return TrackedOrder.objects.create(
        order_key=f"o-{contact.pk}-{TrackedOrder.objects.count()}", contact=contact,
        total=Decimal("30"), currency="EUR", placed_at=timezone.now(), is_purchase=purchase,
    )  # fmt: skip


def cart(contact, value, status="open"):
    lines = [{"product_id": "1", "name": "x", "quantity": 1, "unit_price": str(value)}]
    return CartSnapshotFactory(contact=contact, lines=lines, status=status)


@pytest.fixture
def people():
    """Five contacts, each meeting a different mix of the built-in conditions."""
    fr = ContactFactory(country="FR", attributes={"tags": ["vip"]})
    order(fr)
    grant_consent(fr, "email")
    cart(fr, 80)
    fr_by_phone = ContactFactory(phone="+33612345678", attributes={"tags": ["new"]})
    cart(fr_by_phone, 20, "abandoned")
    us = ContactFactory(phone="+12125550123")
    order(us, purchase=False)
    grant_consent(us, "email")
    withdraw_consent(us, "email")
    canada = ContactFactory(country="CA")
    cart(canada, 500, "converted")
    grant_consent(canada, "sms")
    germany = ContactFactory(country="DE", attributes={"tags": ["v.i.p."]})
    order(germany)
    erased_contacts()  # never in a segment
    return {"fr": fr, "fr_by_phone": fr_by_phone, "us": us, "ca": canada, "de": germany}


def brute_force(entries):
    """Who meets ``entries`` checked one by one in Python: what the translations must match."""
    everyone = list(Contact.objects.exclude(uuid=ERASED_CONTACT_UUID))
    facts = segments.segment_facts([c.pk for c in everyone])
    return {c.pk for c in everyone if conditions.met(entries, c, facts[c.pk])}


def condition(name, **params):
    return {"name": name, "params": params}


CASES = [
    ([], {"fr", "fr_by_phone", "us", "ca", "de"}),
    ([condition("has_ordered")], {"fr", "de"}),
    ([condition("has_not_ordered")], {"fr_by_phone", "us", "ca"}),
    ([condition("customer_is", which="returning")], {"fr", "de"}),
    ([condition("customer_is", which="new")], {"fr_by_phone", "us", "ca"}),
    ([condition("consent_for", channel="email")], {"fr"}),
    ([condition("consent_for", channel="sms")], {"ca"}),
    ([condition("cart_value_at_least", amount="50")], {"fr"}),
    ([condition("cart_value_at_least", amount="10")], {"fr", "fr_by_phone"}),
    ([condition("country_in", countries="FR")], {"fr", "fr_by_phone"}),
    ([condition("country_in", countries=["US", "DE"])], {"us", "de"}),
    ([condition("country_in", countries="CA")], {"ca"}),  # +1 212 is New York, not Canada
    ([condition("has_tag", tag="vip")], {"fr"}),
    ([condition("has_ordered"), condition("country_in", countries="FR, DE")], {"fr", "de"}),
]


@pytest.mark.parametrize(("entries", "expected"), CASES)
def test_segment_members_match_the_conditions(people, entries, expected):
    members = {c.pk for c in segments.members(entries)}
    assert members == {people[name].pk for name in expected} == brute_force(entries)
    assert segments.count(entries) == len(expected)


def test_a_count_of_translated_conditions_is_one_query(people, django_assert_num_queries):
    entries = [condition("has_ordered"), condition("consent_for", channel="email")]
    with django_assert_num_queries(1):
        assert segments.count(entries) == 1


@pytest.fixture
def name_has(monkeypatch):
    """An integrator's condition without a queryset translation."""
    check = lambda contact, facts, text: text in contact.email  # noqa: E731
    monkeypatch.setitem(
        conditions._registry,
        "email_has",
        conditions.Condition("email_has", "Email has", check, {"text": forms.CharField()}),
    )


def test_conditions_without_translation_are_checked_in_python_in_batches(
    people, name_has, monkeypatch
):
    monkeypatch.setattr(segments, "BATCH_SIZE", 2)
    entries = [condition("has_not_ordered"), condition("email_has", text="customer")]
    with CaptureQueriesContext(connection) as captured:
        members = {c.pk for c in segments.members(entries)}
    assert members == {people[n].pk for n in ("fr_by_phone", "us", "ca")} == brute_force(entries)
    # 3 candidates, 2 batches of (contacts, purchases, consents, carts), one empty read.
    assert len(captured) == 2 * 4 + 1


# --- validation --------------------------------------------------------------------------


def test_conditions_are_validated_and_normalised():
    segment = Segment(
        name="French", slug="french", conditions=[condition("country_in", countries="fr, be")]
    )
    segment.full_clean()
    assert segment.conditions == [condition("country_in", countries=["FR", "BE"])]


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"name": "vip"}], "Unknown condition 'vip'"),
        ([condition("country_in", countries="France")], "two-letter country codes"),
        ("has_ordered", "Conditions are a list"),
        ([condition("in_segment", segment="french")], "cannot contain another segment"),
    ],
)
def test_bad_conditions_are_refused(entries, message):
    Segment.objects.create(name="French", slug="french")
    with pytest.raises(ValidationError, match=message):
        Segment(name="Bad", slug="bad", conditions=entries).full_clean()


# --- the in_segment flow condition ---------------------------------------------------------


@pytest.fixture
def buyers(db):
    return Segment.objects.create(
        name="Buyers", slug="buyers", conditions=[condition("has_ordered")]
    )


def test_a_flow_enrols_only_the_segment(people, buyers):
    flow = make_flow(conditions=[condition("in_segment", segment="buyers")])
    assert enroll(flow, people["fr"], trigger_key="t:fr") is not None
    assert enroll(flow, people["us"], trigger_key="t:us") is None


def test_changing_the_segment_reaches_flows_at_once(people, buyers):
    flow = make_flow(conditions=[condition("in_segment", segment="buyers")])
    assert enroll(flow, people["us"], trigger_key="t:1") is None
    buyers.conditions = [condition("has_not_ordered")]
    buyers.save()
    assert enroll(flow, people["us"], trigger_key="t:2") is not None


def test_in_segment_costs_flows_at_most_one_query(people, buyers):
    contacts = list(people.values())

    def queries(entries, key):
        flow = make_flow(slug=f"flow-{key}", conditions=entries)
        entrants = [Entry(c, f"{key}:{c.pk}", timezone.now()) for c in contacts]
        with CaptureQueriesContext(connection) as captured:
            enroll_many(flow, entrants)
        return len(captured)

    # Against a flow whose condition reads the same contact facts (orders, consents): the
    # segment adds at most its own membership query.
    ordered = queries([condition("has_ordered")], "ordered")
    assert queries([condition("in_segment", segment="buyers")], "segment") <= ordered + 1


def test_in_segment_names_an_existing_segment(buyers):
    assert conditions.validate([condition("in_segment", segment="buyers")])
    with pytest.raises(ValidationError, match="There is no segment nobody"):
        conditions.validate([condition("in_segment", segment="nobody")])
    with pytest.raises(ValidationError, match="segment"):
        conditions.validate([condition("in_segment", segment="")])


def test_in_segment_offers_the_segments_by_name(buyers):
    html = conditions.get("in_segment").params["segment"].widget.render("s", None)
    assert '<option value="buyers">Buyers</option>' in html


def test_a_segment_in_use_cannot_be_deleted(buyers):
    flow = make_flow(conditions=[condition("in_segment", segment="buyers")])
    step = Step.objects.create(
        flow=flow, name="Gift", delay=timedelta(0), position=1,
        conditions=[condition("in_segment", segment="buyers")],
    )  # fmt: skip
    assert buyers.used_by() == [flow, step]
    with pytest.raises(ProtectedError):
        buyers.delete()
    flow.delete()
    buyers.delete()
    assert not Segment.objects.exists()


# --- admin ---------------------------------------------------------------------------------


def form(**fields):
    return {"name": "French buyers", "slug": "french-buyers", "description": "", **fields}


def test_staff_build_a_segment_with_the_conditions_builder(admin_client, people):
    data = form(**{
        "conditions-rows": "3",
        "conditions-0-name": "country_in",
        "conditions-0-country_in-countries": "fr",
        "conditions-1-name": "has_ordered",
        "conditions-2-name": "",
    })  # fmt: skip
    response = admin_client.post(reverse("admin:omnichannel_segment_add"), data)
    assert response.status_code == 302
    segment = Segment.objects.get()
    assert segment.conditions == [
        condition("country_in", countries=["FR"]), {"name": "has_ordered", "params": {}},
    ]  # fmt: skip
    listing = admin_client.get(reverse("admin:omnichannel_segment_changelist"))
    assert '<td class="field-contact_count">1</td>' in listing.content.decode()
    page = admin_client.get(reverse("admin:omnichannel_segment_change", args=[segment.pk]))
    html = page.content.decode()
    assert "<strong>1</strong>" in html and people["fr"].email in html
    assert 'name="slug"' not in html  # fixed once saved


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"conditions-0-name": "in_segment", "conditions-0-in_segment-segment": "x"}, "segment"),
        ({"conditions-0-name": "country_in", "conditions-0-country_in-countries": "France"},
         "two-letter"),
        ({"conditions-0-name": "vip"}, "Unknown condition"),
    ],
)  # fmt: skip
def test_bad_conditions_get_a_form_error(admin_client, rows, message):
    data = form(**{"conditions-rows": "1", **rows})
    response = admin_client.post(reverse("admin:omnichannel_segment_add"), data)
    assert response.status_code == 200 and message in response.content.decode()
    assert not Segment.objects.exists()


def test_stored_conditions_that_no_longer_validate_do_not_break_the_pages(admin_client):
    segment = Segment.objects.create(name="Old", slug="old")
    Segment.objects.filter(pk=segment.pk).update(conditions=[{"name": "gone"}])
    listing = admin_client.get(reverse("admin:omnichannel_segment_changelist"))
    assert "conditions to fix" in listing.content.decode()
    page = admin_client.get(reverse("admin:omnichannel_segment_change", args=[segment.pk]))
    assert page.status_code == 200 and "need fixing" in page.content.decode()


def test_deleting_a_segment_in_use_is_refused_in_the_admin(admin_client, buyers):
    make_flow(name="Thanks", conditions=[condition("in_segment", segment="buyers")])
    url = reverse("admin:omnichannel_segment_delete", args=[buyers.pk])
    page = admin_client.get(url)
    assert "Thanks uses Buyers" in page.content.decode()
    admin_client.post(url, {"post": "yes"})
    assert Segment.objects.filter(pk=buyers.pk).exists()
