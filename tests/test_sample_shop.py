"""The sample shop, integrated only through the public bridge, end to end."""

import datetime
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
        {"name": "Ann Smith", "email": "Ann@Example.com", "phone": "+33 6 12 34 56 78"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == reverse("shop:checkout_payment")
    # The details step identifies the guest and joins their cart; it orders nothing.
    contact = Contact.objects.get()
    assert (contact.email, contact.phone, contact.first_name) == (
        "ann@example.com",
        "+33612345678",
        "Ann",
    )
    assert CartSnapshot.objects.get().contact == contact
    assert not Order.objects.exists() and not TrackedOrder.objects.exists()
    response = client.post(reverse("shop:checkout_payment"), {"payment_method": "card"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Contact.objects.get() == contact
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
    check_out(client, name="Bo", email="bo@example.com", payment_method="bank_transfer")
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
    check_out(client, name="Ann", email="ann@example.com")
    contact = Contact.objects.get()
    from omnichannel.contacts.consent import grant_consent

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
        # Born two years ago: younger than any signup form accepts, whatever today is.
        ({"birth_year": str(datetime.date.today().year - 2)}, "Enter a year up to"),
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
    winback = Flow.objects.get(slug="win-back")
    assert winback.status == "active"
    assert winback.steps.get(position=1).delay == timedelta(minutes=7)
    tasks = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {
        "omnichannel.advance_flows",
        "omnichannel.dispatch_due",
        "omnichannel.detect_abandoned_carts",
        "omnichannel.detect_lapsed_buyers",
    } <= tasks


def test_an_unknown_profile_field_is_named_in_the_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    from sample_shop.shop.forms import SignupForm

    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "SIGNUP_PROFILE_FIELDS": ["age"]}
    with pytest.raises(ImproperlyConfigured, match=r"\['SIGNUP_PROFILE_FIELDS'\]\[0\] is 'age'"):
        SignupForm()


# --- checkout in two steps: details (identify, opt-ins), then payment ---------------------


def check_out(client, payment_method="card", **details):
    """Both checkout steps, the details then the payment; returns the payment's response."""
    details = {"name": "Ann Smith", "email": "ann@example.com", "phone": "", **details}
    response = client.post(reverse("shop:checkout"), details)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == reverse("shop:checkout_payment")
    return client.post(reverse("shop:checkout_payment"), {"payment_method": payment_method})


def test_demo_a_guest_who_leaves_an_email_is_reminded_until_they_order(client, mug, admin_client):
    """The demo's acceptance, with the real pieces: a guest adds to cart, leaves an email
    at checkout and walks away; the shipped cart recovery emails the cart's lines with a
    restore link that works in another browser; ordering stops the flow."""
    from datetime import timedelta

    from django.core import mail
    from django.test import Client
    from django.utils import timezone

    from omnichannel.carts.recovery import detect_abandoned
    from omnichannel.conf import omnichannel_settings
    from omnichannel.flows.defaults import install_defaults
    from omnichannel.flows.engine import advance_due
    from omnichannel.models import Enrollment, Flow, Message
    from omnichannel.models.flows import ExitGoal
    from omnichannel.outbox.dispatch import dispatch_batch

    install_defaults(activate=True)
    # Switched on when the demo started, well before this guest came (a flow ignores
    # triggers older than its activation, and the cart's clock is moved back below).
    Flow.objects.update(activated_at=timezone.now() - timedelta(days=1))
    add(client, mug, 2)
    response = client.post(
        reverse("shop:checkout"),
        {"name": "Ann Smith", "email": "ann@example.com", "phone": "", "email_offers": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert client.get(reverse("shop:checkout_payment")).status_code == 200
    assert not Order.objects.exists()  # ... and the guest leaves at the payment step.

    # Time passes: the cart has been idle for longer than CART_IDLE_MINUTES.
    idle = timedelta(minutes=omnichannel_settings.CART_IDLE_MINUTES)
    CartSnapshot.objects.update(last_activity_at=timezone.now() - idle - timedelta(minutes=1))
    assert detect_abandoned().enrolled == 1
    enrollment = Enrollment.objects.get()
    assert enrollment.flow.slug == "cart-recovery" and enrollment.contact.email == "ann@example.com"
    due = enrollment.next_step_at  # the first step's delay after the cart went idle
    assert advance_due(now=due - timedelta(seconds=1)).queued == 0
    assert advance_due(now=due).queued == 1
    mail.outbox.clear()
    assert dispatch_batch("demo", now=due).sent == 1

    # The admin's Messages log lists the reminder; its page shows the cart and the link.
    message = Message.objects.get()
    assert (message.channel, message.status, message.source) == (
        "email",
        "sent",
        "flow:cart-recovery:1",
    )
    changelist = admin_client.get(reverse("admin:omnichannel_message_changelist"))
    assert changelist.status_code == 200
    assert reverse("admin:omnichannel_message_change", args=[message.pk]) in (
        changelist.content.decode()
    )
    restore_link = message.context["cart"]["restore_url"]
    page = admin_client.get(reverse("admin:omnichannel_message_change", args=[message.pk]))
    assert page.status_code == 200 and "Mug" in page.content.decode()

    # The email itself: the cart's lines and the restore link.
    [email] = mail.outbox
    assert email.to == ["ann@example.com"]
    assert "- Mug x 2" in email.body
    assert restore_link in email.body
    html = email.alternatives[0][0] if email.alternatives else ""
    assert "Mug" in html and restore_link.replace("&", "&amp;") in html

    # Another browser (the phone the email was read on) gets the cart back.
    phone = Client()
    response = phone.get(restore_link.removeprefix(omnichannel_settings.PUBLIC_BASE_URL))
    assert response.status_code == 302 and response["Location"] == reverse("shop:cart_detail")
    cart_page = phone.get(reverse("shop:cart_detail"))
    assert [(item.product.name, item.quantity) for item in cart_page.context["cart"].items] == [
        ("Mug", 2)
    ]
    assert "Mug" in cart_page.content.decode()

    # Back in the first browser, the guest places the order: the recovery stops.
    response = client.post(reverse("shop:checkout_payment"), {"payment_method": "card"})
    assert response.status_code == 302, response.content.decode()[:2000]
    order = TrackedOrder.objects.get()
    assert order.is_purchase and order.contact == enrollment.contact
    assert order.cart.status == "recovered"  # a reminder was out when the order came
    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.exit_reason) == ("exited", ExitGoal.ORDERED.label)
    later = due + timedelta(days=30)
    advance_due(now=later)
    dispatch_batch("demo", now=later)
    # No more reminders: what goes now is the order's own thank-you (post-purchase).
    assert Message.objects.filter(enrollment=enrollment).count() == 1
    [thanks] = Message.objects.exclude(enrollment=enrollment)
    assert (thanks.source, thanks.purpose, thanks.status) == (
        "flow:post-purchase:1",
        "transactional",
        "sent",
    )
    assert len(mail.outbox) == 2 and mail.outbox[1].subject.startswith("Thank you for your order")


def test_demo_after_the_order_thanks_a_review_request_a_cross_sell_and_a_win_back(
    client, mug, settings
):
    """The flows after a purchase in the shop, with the real pieces: the order's lines come
    from the shop, shipping it asks for a review linking the product, a week later the
    shop's recommendations go with it, and months later the buyer is won back."""
    from datetime import timedelta

    from django.core import mail
    from django.utils import timezone

    from omnichannel.carts.winback import detect_lapsed
    from omnichannel.flows.defaults import install_defaults
    from omnichannel.flows.engine import advance_due
    from omnichannel.integrations import track_order
    from omnichannel.models import Enrollment, Flow, Message
    from omnichannel.outbox.dispatch import dispatch_batch
    from sample_shop.shop.models import OrderStatus

    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "REVIEW_ORDER_STATUSES": ["shipped"]}
    Product.objects.create(name="Teapot", slug="teapot", price=Decimal("30"), sku="TEA")
    install_defaults(activate=True)
    Flow.objects.update(activated_at=timezone.now() - timedelta(days=1))
    add(client, mug, 2)
    assert check_out(client, email_offers="on").status_code == 302
    shop_order, start = Order.objects.get(), timezone.now()

    def emails_at(at):
        advance_due(now=at)
        dispatch_batch("demo", now=at)
        return [(message.subject, message.body) for message in mail.outbox[-1:]]

    [(subject, body)] = emails_at(start)
    assert subject == f"Thank you for your order {shop_order.uuid}"
    assert "- Mug x 2" in body

    shop_order.status = OrderStatus.SHIPPED  # as staff do in the shop's admin
    shop_order.save()
    track_order(shop_order)
    [(subject, body)] = emails_at(start + timedelta(days=3, seconds=1))
    assert subject == "How do you like your order?"
    assert "- Mug x 2: https://shop.example.com/products/mug/" in body

    [(subject, body)] = emails_at(start + timedelta(days=7, seconds=1))
    assert subject == "Something to go with your order" and "- Teapot (€30.00)" in body

    lapsed = start + timedelta(days=91)
    assert detect_lapsed(now=lapsed).enrolled == 1
    [(subject, body)] = emails_at(lapsed)
    assert subject == "It has been a while: here is what is new at Sample Shop"
    assert len(mail.outbox) == 4

    # She comes back and orders: the win-back ends before its offer.
    add(client, mug)
    assert check_out(client).status_code == 302
    winback = Enrollment.objects.get(flow__slug="win-back")
    assert (winback.state, winback.exit_reason) == ("exited", "Placed an order")
    emails_at(lapsed + timedelta(days=8))
    assert not Message.objects.filter(enrollment=winback, step__position=1).exists()


def test_the_details_step_orders_nothing_and_the_payment_step_needs_it(client, mug):
    payment = reverse("shop:checkout_payment")
    # An empty cart goes back to the cart page, at either step.
    for url in (reverse("shop:checkout"), payment):
        assert client.get(url)["Location"] == reverse("shop:cart_detail")
    add(client, mug)
    # No details yet: the payment step sends the visitor to the details step.
    for response in (client.get(payment), client.post(payment, {"payment_method": "card"})):
        assert response.status_code == 302
        assert response["Location"] == reverse("shop:checkout")
    assert not Order.objects.exists() and not Contact.objects.exists()

    details = {"name": "Ann Smith", "email": "ann@example.com", "phone": "+33612345678"}
    assert client.post(reverse("shop:checkout"), details)["Location"] == payment
    assert not Order.objects.exists() and not TrackedOrder.objects.exists()
    page = client.get(payment)
    assert page.status_code == 200
    for text in ("Ann Smith", "ann@example.com", "+33612345678", "Mug", "Place order"):
        assert text in page.content.decode()
    # Back to the details step: what was given is filled in again.
    form = client.get(reverse("shop:checkout")).context["form"]
    assert form["email"].value() == "ann@example.com" and form["name"].value() == "Ann Smith"


def test_checkout_records_the_exact_wording_of_the_ticked_opt_ins(client, mug):
    from sample_shop.shop.forms import CheckoutDetailsForm

    add(client, mug)
    check_out(client, phone="+33 6 12 34 56 78", email_offers="on", sms_offers="on")
    contact = Contact.objects.get()
    consents = {c.channel: c for c in Consent.objects.filter(contact=contact)}
    assert set(consents) == {"email", "sms"}
    labels = CheckoutDetailsForm.base_fields
    for channel, field in (("email", "email_offers"), ("sms", "sms_offers")):
        assert consents[channel].status == "granted" and consents[channel].source == "checkout"
        assert consents[channel].wording == str(labels[field].label)
    assert consents["email"].wording.startswith("Email me news and offers")
    assert consents["sms"].wording.startswith("Text me offers")
    from omnichannel.models import ConsentEvent

    events = ConsentEvent.objects.filter(contact=contact).order_by("channel")
    assert [(e.channel, e.status, e.wording) for e in events] == [
        ("email", "granted", str(labels["email_offers"].label)),
        ("sms", "granted", str(labels["sms_offers"].label)),
    ]


def test_unticked_opt_ins_record_nothing(client, mug):
    import re

    from omnichannel.models import ConsentEvent

    add(client, mug)
    page = client.get(reverse("shop:checkout")).content.decode()
    for name in ("email_offers", "sms_offers"):
        [box] = re.findall(rf'<input[^>]*name="{name}"[^>]*>', page)
        assert 'type="checkbox"' in box and "checked" not in box  # unticked by default
    check_out(client, phone="+33612345678")
    assert Contact.objects.exists() and Order.objects.exists()
    assert not Consent.objects.exists() and not ConsentEvent.objects.exists()


@pytest.mark.parametrize(
    "details, field, error",
    [
        ({"email": ""}, "email", "This field is required."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"name": ""}, "name", "This field is required."),
        ({"phone": "0612"}, "phone", "Enter a valid phone number"),
        ({"sms_offers": "on"}, "sms_offers", "Give your mobile number to receive texts."),
    ],
)
def test_bad_details_are_form_errors(client, mug, details, field, error):
    add(client, mug)
    data = {"name": "Ann", "email": "ann@example.com", "phone": "", **details}
    response = client.post(reverse("shop:checkout"), data)
    assert response.status_code == 200
    assert error in " ".join(response.context["form"].errors[field])
    assert not Contact.objects.exists() and not Consent.objects.exists()
    assert "shop_checkout" not in client.session


def test_a_bad_payment_method_is_a_form_error(client, mug):
    add(client, mug)
    client.post(reverse("shop:checkout"), {"name": "Ann", "email": "ann@example.com"})
    for data in ({"payment_method": "cash"}, {}):
        response = client.post(reverse("shop:checkout_payment"), data)
        assert response.status_code == 200
        assert response.context["form"].errors["payment_method"]
    assert not Order.objects.exists()


def test_logged_in_checkout_uses_the_account(client, mug, customer, settings):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "PURCHASE_ORDER_STATUSES": ["paid"]}
    client.force_login(customer)
    add(client, mug)
    form = client.get(reverse("shop:checkout")).context["form"]
    assert form["email"].value() == customer.email
    response = check_out(client, email="", payment_method="bank_transfer")
    assert response.status_code == 302, response.content.decode()[:2000]
    order = Order.objects.get()
    assert (order.user, order.email, order.status) == (customer, customer.email, "pending_payment")
    tracked = TrackedOrder.objects.get()
    assert tracked.contact.user == customer and not tracked.is_purchase


def test_details_given_before_logging_in_are_asked_again(client, mug, customer):
    add(client, mug)
    client.post(reverse("shop:checkout"), {"name": "Ann", "email": "ann@example.com"})
    client.force_login(customer)
    response = client.get(reverse("shop:checkout_payment"))
    assert response["Location"] == reverse("shop:checkout")


def discount_code(code="BACK1", email=""):
    from datetime import timedelta

    from django.utils import timezone

    from sample_shop.shop.models import DiscountCode

    return DiscountCode.objects.create(
        code=code,
        kind="percent",
        value=Decimal("10"),
        expires_at=timezone.now() + timedelta(days=1),
        email=email,
    )


def test_discount_codes_still_work_across_the_two_steps(client, mug):
    code = discount_code()
    add(client, mug, 2)
    client.post(reverse("shop:discount_apply"), {"code": "back1"})
    response = check_out(client)
    assert response.status_code == 302, response.content.decode()[:2000]
    order = Order.objects.get()
    assert (order.discount_code, order.total) == ("BACK1", Decimal("22.50"))
    code.refresh_from_db()
    assert code.used_at is not None


def test_a_code_for_another_email_is_refused_at_either_step(client, mug):
    discount_code("BOUND", email="bo@example.com")
    add(client, mug)
    client.post(reverse("shop:discount_apply"), {"code": "BOUND"})
    response = client.post(reverse("shop:checkout"), {"name": "Ann", "email": "ann@example.com"})
    assert response.status_code == 200 and "was issued for another email" in (
        response.content.decode()
    )
    # Details given first, the code applied afterwards (a restore link applies one).
    client.post(reverse("shop:discount_remove"))
    client.post(reverse("shop:checkout"), {"name": "Ann", "email": "ann@example.com"})
    client.post(reverse("shop:discount_apply"), {"code": "BOUND"})
    response = client.post(reverse("shop:checkout_payment"), {"payment_method": "card"})
    assert response.status_code == 200
    assert "change your details" in " ".join(response.context["form"].non_field_errors())
    assert not Order.objects.exists()


def test_a_code_used_meanwhile_is_removed_with_a_message(client, mug, monkeypatch):
    from django.utils import timezone

    from sample_shop.shop.checkout import place_order
    from sample_shop.shop.models import DiscountCode

    code = discount_code()
    add(client, mug)
    client.post(reverse("shop:discount_apply"), {"code": "BACK1"})
    client.post(reverse("shop:checkout"), {"name": "Ann", "email": "ann@example.com"})

    def another_checkout_uses_the_code_first(cart, **kwargs):
        assert cart.discount == code  # read while still usable, as the payment page did
        DiscountCode.objects.filter(pk=code.pk).update(used_at=timezone.now())
        return place_order(cart, **kwargs)

    monkeypatch.setattr("sample_shop.shop.views.place_order", another_checkout_uses_the_code_first)
    response = client.post(reverse("shop:checkout_payment"), {"payment_method": "card"})
    assert response.status_code == 200
    assert "was just used or expired" in response.content.decode()
    assert not Order.objects.exists() and client.session["cart"].get("discount_code") is None


def test_a_product_page_writes_its_view_only_after_the_response(client, mug, monkeypatch):
    from omnichannel.integrations import api
    from omnichannel.models import ProductView

    page = reverse("shop:product_detail", args=[mug.slug])
    client.get(page)  # the session exists from here on
    flushed_at = []
    write = api.write_buffered_views

    def noting_when(*args):
        flushed_at.append(len(queries.captured_queries))
        return write(*args)

    monkeypatch.setattr(api, "write_buffered_views", noting_when)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page).status_code == 200
    during_request = [q["sql"] for q in queries.captured_queries[: flushed_at[0]]]
    assert not [sql for sql in during_request if "omnichannel_" in sql]
    # One upsert (Django 5.2 wraps it in BEGIN / COMMIT of its own, Django 6 does not).
    after_response = [
        q["sql"]
        for q in queries.captured_queries[flushed_at[0] :]
        if q["sql"] not in ("BEGIN", "COMMIT")
    ]
    assert len(after_response) == 1 and "omnichannel_productview" in after_response[0]
    view = ProductView.objects.get()
    assert (view.product_id, view.name, view.url, view.price) == (
        str(mug.pk),
        "Mug",
        page,
        Decimal("12.50"),
    )


def test_demo_a_customer_who_browses_and_leaves_is_reminded_of_what_they_viewed(
    client, mug, profile_fields
):
    """The shipped browse abandonment in the sample shop: a customer signs up with email
    offers, looks at two products, adds nothing and leaves; about two hours later one
    email shows both products. Someone who added to the cart instead gets none."""
    from datetime import timedelta

    from django.core import mail
    from django.utils import timezone

    from omnichannel.browsing.abandonment import detect_abandoned_browsing
    from omnichannel.flows.defaults import install_defaults
    from omnichannel.flows.engine import advance_due
    from omnichannel.flows.lifecycle import activate
    from omnichannel.models import Enrollment, Flow, ProductView
    from omnichannel.outbox.dispatch import dispatch_batch

    teapot = Product.objects.create(name="Teapot", slug="teapot", price=Decimal("30"), sku="TP")
    install_defaults()
    # The browse abandonment alone: the welcome email would take the day's email (the cap).
    browse = Flow.objects.get(slug="browse-abandonment")
    activate([browse])
    Flow.objects.filter(pk=browse.pk).update(activated_at=timezone.now() - timedelta(days=1))
    sign_up(client, email_offers="on")
    other = client.__class__()
    sign_up(other, username="bo", email_offers="on")
    for shopper in (client, other):
        shopper.get(reverse("shop:product_detail", args=[mug.slug]))
        shopper.get(reverse("shop:product_detail", args=[teapot.slug]))
    add(other, mug)  # Bo puts the mug in the cart: the cart recovery speaks for Bo
    ann = Contact.objects.get(email="ann@example.com")
    assert set(ProductView.objects.filter(contact=ann).values_list("name", flat=True)) == {
        "Mug",
        "Teapot",
    }

    # Time passes: nobody has looked at a product for more than an hour.
    ProductView.objects.update(last_viewed_at=timezone.now() - timedelta(minutes=61))
    report = detect_abandoned_browsing()
    assert (report.contacts, report.skipped, report.enrolled) == (2, 1, 1)
    enrollment = Enrollment.objects.get(flow__slug="browse-abandonment")
    assert enrollment.contact == ann
    mail.outbox.clear()
    advance_due(now=enrollment.next_step_at)
    assert dispatch_batch("demo", now=enrollment.next_step_at).sent == 1
    [email] = mail.outbox
    assert email.to == ["ann@example.com"] and email.subject == "Still thinking it over?"
    assert "- Teapot (€30.00)" in email.body and "- Mug (€12.50)" in email.body


def test_demo_a_visitor_who_asked_hears_of_the_price_drop_the_staff_makes(
    client, mug, admin_client
):
    """The "notify me" form of the product page, then staff lower the price in the admin:
    the asker gets the shipped price-drop email, without having agreed to marketing."""
    import json

    from django.core import mail
    from django.utils import timezone

    from omnichannel.browsing.news import announce_due
    from omnichannel.flows.defaults import install_defaults
    from omnichannel.flows.engine import advance_due
    from omnichannel.flows.lifecycle import activate
    from omnichannel.models import Flow, ProductAlert
    from omnichannel.outbox.dispatch import dispatch_batch

    install_defaults()
    activate([Flow.objects.get(slug="price-drop")])
    page = client.get(reverse("shop:product_detail", args=[mug.slug])).content.decode()
    assert 'id="price-alert"' in page and reverse("omnichannel:product-notify-me") in page
    response = client.post(
        reverse("omnichannel:product-notify-me"),
        json.dumps({"email": "ann@example.com", "product_id": str(mug.pk), "kind": "price_drop"}),
        content_type="application/json",
        HTTP_ORIGIN="http://testserver",
    )
    assert response.status_code == 201, response.content
    assert ProductAlert.objects.get().contact.email == "ann@example.com"

    change = reverse("admin:shop_product_change", args=[mug.pk])
    fields = {"name": "Mug", "slug": "mug", "price": "9.90", "sku": "MUG", "is_active": "on"}
    assert admin_client.post(change, fields).status_code == 302
    assert announce_due().enrolled == 1
    now = timezone.now()
    advance_due(now=now)
    mail.outbox.clear()
    assert dispatch_batch("demo", now=now).sent == 1
    [email] = mail.outbox
    assert email.to == ["ann@example.com"] and email.subject == "Mug now costs less"
    assert "€9.90 instead of €12.50" in email.body


def test_demo_a_product_back_on_sale_is_news_for_who_looked_at_it(client, mug, admin_client):
    from django.core import mail
    from django.utils import timezone

    from omnichannel.browsing.news import announce_due
    from omnichannel.flows.defaults import install_defaults
    from omnichannel.flows.engine import advance_due
    from omnichannel.flows.lifecycle import activate
    from omnichannel.models import Flow
    from omnichannel.outbox.dispatch import dispatch_batch

    install_defaults()
    activate([Flow.objects.get(slug="back-in-stock")])
    sign_up(client, email_offers="on")
    client.get(reverse("shop:product_detail", args=[mug.slug]))
    change = reverse("admin:shop_product_change", args=[mug.pk])
    fields = {"name": "Mug", "slug": "mug", "price": "12.50", "sku": "MUG"}
    assert admin_client.post(change, fields).status_code == 302  # taken off sale
    assert announce_due().claimed == 0
    assert admin_client.post(change, {**fields, "is_active": "on"}).status_code == 302
    assert announce_due().enrolled == 1
    now = timezone.now()
    advance_due(now=now)
    mail.outbox.clear()
    assert dispatch_batch("demo", now=now).sent == 1
    [email] = mail.outbox
    assert email.to == ["ann@example.com"] and email.subject == "It is back: Mug"
