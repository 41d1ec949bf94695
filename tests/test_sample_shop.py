"""The sample shop, integrated only through the public bridge, end to end."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from omnichannel.models import CartSnapshot, Consent, Contact, TrackedOrder
from sample_shop.shop.models import Order, Product

# Real commits: the bridge writes after the shop's transaction commits.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mug():
    return Product.objects.create(name="Mug", slug="mug", price=Decimal("12.50"), sku="MUG")


def add(client, product, quantity=1):
    return client.post(reverse("shop:cart_add", args=[product.pk]), {"quantity": quantity})


def add_capturing_queries(client, product):
    """The SQL of one add-to-cart request (read now: the next request resets the log)."""
    with CaptureQueriesContext(connection) as queries:
        response = add(client, product)
    assert response.status_code == 302
    return [query["sql"] for query in queries.captured_queries]


def test_add_to_cart_costs_at_most_two_queries_and_no_network(client, mug, monkeypatch, no_network):
    add(client, mug)  # the session and the snapshot exist from here on
    with_bridge = add_capturing_queries(client, mug)

    bare = client.__class__()
    monkeypatch.setattr("sample_shop.shop.views.track_cart", lambda cart, request: None)
    add(bare, mug)
    without_bridge = add_capturing_queries(bare, mug)

    ours = [sql for sql in with_bridge if "omnichannel_" in sql]
    assert len(with_bridge) - len(without_bridge) <= 2, ours
    assert 1 <= len(ours) <= 2, ours
    assert CartSnapshot.objects.get().item_count == 2


def test_logged_in_add_to_cart_stays_within_budget(client, mug, customer, no_network):
    client.force_login(customer)
    add(client, mug)
    ours = [sql for sql in add_capturing_queries(client, mug) if "omnichannel_" in sql]
    assert len(ours) <= 2, ours
    assert CartSnapshot.objects.get().contact.user == customer


def test_a_broken_bridge_does_not_break_add_to_cart(client, mug, settings, caplog):
    settings.OMNICHANNEL = {"SHOP_ADAPTER": "tests.adapter.BrokenAdapter"}
    response = add(client, mug)
    assert response.status_code == 302
    assert client.get(reverse("shop:cart_detail")).status_code == 200
    assert "the shop's adapter is broken" in caplog.text
    assert not CartSnapshot.objects.exists()


def test_guest_checkout_ties_cart_order_and_contact(client, mug):
    add(client, mug, 2)
    response = client.post(
        reverse("shop:checkout"),
        {
            "name": "Ann Smith",
            "email": "Ann@Example.com",
            "phone": "+33 6 12 34 56 78",
            "payment_method": "card",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    contact = Contact.objects.get()
    assert (contact.email, contact.phone, contact.first_name) == (
        "ann@example.com",
        "+33612345678",
        "Ann",
    )
    order = TrackedOrder.objects.get()
    assert order.contact == contact and order.is_purchase
    assert order.cart.status == "converted" and order.cart.contact == contact
    assert order.order_key == str(Order.objects.get().uuid)
    # The next cart is a new one: the converted snapshot is left alone.
    add(client, mug)
    assert CartSnapshot.objects.filter(status="open").count() == 1


def test_bank_transfer_is_not_a_purchase_until_paid(client, mug, admin_client, settings):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "PURCHASE_ORDER_STATUSES": ["paid"]}
    add(client, mug)
    client.post(
        reverse("shop:checkout"),
        {"name": "Bo", "email": "bo@example.com", "phone": "", "payment_method": "bank_transfer"},
    )
    order = TrackedOrder.objects.get()
    assert not order.is_purchase and order.cart.status == "open"
    shop_order = Order.objects.get()
    admin_client.post(
        reverse("admin:shop_order_changelist"),
        {"action": "mark_paid", "_selected_action": [shop_order.pk]},
    )
    order.refresh_from_db()
    assert order.is_purchase and order.cart.status == "converted"


def test_signup_after_guest_cart_is_one_contact(client, mug):
    add(client, mug)
    response = client.post(
        reverse("signup"),
        {
            "username": "ann",
            "email": "ann@example.com",
            "password1": "a-long-pass-phrase-1",
            "password2": "a-long-pass-phrase-1",
        },
    )
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert contact.user.username == "ann" and contact.signed_up_at is not None
    assert CartSnapshot.objects.get().contact == contact


@pytest.mark.parametrize(
    "model", ["contact", "consent", "consentevent", "suppression", "cartsnapshot", "trackedorder"]
)
def test_admin_lists_and_pages_render(admin_client, mug, client, model):
    add(client, mug)
    client.post(
        reverse("shop:checkout"),
        {"name": "Ann", "email": "ann@example.com", "phone": "", "payment_method": "card"},
    )
    contact = Contact.objects.get()
    from omnichannel.consent import grant_consent

    grant_consent(contact, "email", source="test", wording="<b>Yes</b> & more")
    response = admin_client.get(reverse(f"admin:omnichannel_{model}_changelist"))
    assert response.status_code == 200
    objects = {
        "contact": contact,
        "consent": Consent.objects.first(),
        "cartsnapshot": CartSnapshot.objects.first(),
        "trackedorder": TrackedOrder.objects.first(),
    }
    if model in objects:
        page = admin_client.get(
            reverse(f"admin:omnichannel_{model}_change", args=[objects[model].pk])
        )
        assert page.status_code == 200
        assert b"<b>Yes</b>" not in page.content  # customer-facing text is escaped


def test_contact_admin_refuses_a_bad_phone_with_a_message(admin_client, contact):
    url = reverse("admin:omnichannel_contact_change", args=[contact.pk])
    response = admin_client.post(
        url,
        {
            "email": contact.email,
            "phone": "0612",
            "external_ids": "{}",
            "attributes": "{}",
            "consents-TOTAL_FORMS": 0,
            "consents-INITIAL_FORMS": 0,
            "consent_events-TOTAL_FORMS": 0,
            "consent_events-INITIAL_FORMS": 0,
            "carts-TOTAL_FORMS": 0,
            "carts-INITIAL_FORMS": 0,
            "orders-TOTAL_FORMS": 0,
            "orders-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert "country code" in response.content.decode()


# --- signup: profile fields, opt-ins and the welcome series ------------------------------

EVERY_PROFILE_FIELD = ["country", "birth_year", "phone", "email_frequency"]


@pytest.fixture
def profile_fields(settings):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "SIGNUP_PROFILE_FIELDS": EVERY_PROFILE_FIELD}


def sign_up(client, username="ann", **fields):
    return client.post(
        reverse("signup"),
        {
            "username": username,
            "email": f"{username}@example.com",
            "password1": "a-long-pass-phrase-1",
            "password2": "a-long-pass-phrase-1",
            **fields,
        },
    )


def test_signup_saves_the_profile_and_the_opt_ins(client, profile_fields):
    response = sign_up(
        client,
        country="FR",
        birth_year="1990",
        phone="06 12 34 56 78",  # national: read in the country chosen
        email_frequency="weekly",
        email_offers="on",
        sms_offers="on",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    contact = Contact.objects.get()
    assert (contact.country, contact.phone) == ("FR", "+33612345678")
    assert contact.attributes == {"birth_year": 1990, "email_frequency": "weekly"}
    consents = {c.channel: c for c in Consent.objects.filter(contact=contact)}
    assert set(consents) == {"email", "sms"}
    assert consents["email"].status == "granted" and consents["email"].source == "signup"
    assert consents["email"].wording.startswith("Email me news and offers")


def test_signup_asks_only_for_the_fields_the_shop_chose(client):
    page = client.get(reverse("signup")).content.decode()
    assert 'name="email_offers"' in page
    for name in [*EVERY_PROFILE_FIELD, "sms_offers"]:
        assert f'name="{name}"' not in page
    assert sign_up(client).status_code == 302
    contact = Contact.objects.get()
    assert contact.attributes == {} and not Consent.objects.exists()  # nothing ticked


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"birth_year": "1700"}, "Enter a year after"),
        ({"birth_year": "2024"}, "Enter a year up to"),
        ({"phone": "0612", "country": "FR"}, "not a valid phone number"),
        ({"sms_offers": "on"}, "Give your mobile number to receive texts."),
        ({"country": "XX"}, "Select a valid choice"),
    ],
)
def test_signup_refuses_bad_profile_answers(client, profile_fields, fields, error):
    response = sign_up(client, **fields)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Contact.objects.exists()


def test_a_phone_of_another_account_does_not_join_their_contact(client, profile_fields):
    sign_up(client, "ann", phone="+33612345678", email_offers="on")
    ann = Contact.objects.get()
    client.logout()
    response = sign_up(client, "bo", phone="+33612345678", birth_year="1985", email_offers="on")
    assert response.status_code == 302
    bo = Contact.objects.exclude(pk=ann.pk).get()
    assert bo.user.username == "bo" and bo.attributes == {"birth_year": 1985}
    assert bo.phone is None  # the number stays with Ann
    ann.refresh_from_db()
    assert ann.attributes == {} and ann.user.username == "ann"
    assert Consent.objects.filter(contact=bo, channel="email", status="granted").exists()


def test_signup_starts_the_welcome_series(client, profile_fields):
    from omnichannel.flows.defaults import install_defaults
    from omnichannel.flows.engine import advance_due
    from omnichannel.models import Enrollment, Message

    install_defaults(activate=True)
    sign_up(client, country="FR", email_offers="on")
    enrollment = Enrollment.objects.get()
    assert (enrollment.flow.slug, enrollment.state) == ("welcome", "active")
    assert enrollment.contact.country == "FR"  # known when the series started
    advance_due()
    message = Message.objects.get()
    assert (message.channel, message.step.position) == ("email", 0)
    assert message.context["discount"]["code"].startswith("WELCOME")


def test_load_demo_data_installs_the_fast_default_flows_and_the_periodic_tasks(settings):
    from datetime import timedelta
    from io import StringIO

    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    from omnichannel.models import Flow

    settings.DEMO_FAST_FLOWS = True
    for _ in range(2):  # idempotent
        call_command("load_demo_data", stdout=StringIO())
    welcome, recovery = Flow.objects.get(slug="welcome"), Flow.objects.get(slug="cart-recovery")
    assert welcome.status == recovery.status == "active"
    assert welcome.steps.get(position=1).delay == timedelta(minutes=4)
    assert recovery.steps.get(position=0).delay == timedelta(seconds=2.5)  # an hour, fast
    tasks = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {
        "omnichannel.advance_flows",
        "omnichannel.dispatch_due",
        "omnichannel.detect_abandoned_carts",
    } <= tasks


def test_an_unknown_profile_field_is_named_in_the_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    from sample_shop.shop.forms import SignupForm

    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "SIGNUP_PROFILE_FIELDS": ["age"]}
    with pytest.raises(ImproperlyConfigured, match=r"unknown fields \['age'\]"):
        SignupForm()
