"""Templates see plain values, never the model graph.

Staff write message content in the admin and shops override the popup and inbox
templates; none of them may reach the shop user (email, password hash), the contact's
messages and carts, or other contacts. Each test renders a template that tries every way
in, for dispatch rendering, the admin preview, the popup markup and the inbox tag, and
checks that nothing private comes out while the public fields still render.
"""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.template import Context, Template
from django.utils import timezone

from omnichannel.flows.preview import preview_step
from omnichannel.integrations.session import remember_contact
from omnichannel.models import Enrollment, Message, PopupSignup
from omnichannel.models.consent import Purpose
from omnichannel.models.messages import MessageStatus
from omnichannel.outbox.dispatch import sweep
from omnichannel.outbox.queueing import enqueue
from omnichannel.outbox.rendering import MissingVariable, render_message
from omnichannel.popups.markup import render_popup
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory, PopupFactory

from .flows.conftest import make_flow

pytestmark = pytest.mark.django_db

# Every way a template could walk from what it is given to what it must not see.
WALKS_FROM_CONTACT = (
    "{{ contact.user.password }}",
    "{{ contact.user.email }}",
    "{{ contact.user.username }}",
    "{{ contact.pk }}|{{ contact.id }}|{{ contact.uuid }}",
    "{{ contact.messages.all }}",
    "{% for m in contact.messages.all %}{{ m.idempotency_key }}{{ m.to }}{% endfor %}",
    "{% for c in contact.carts.all %}{{ c.cart_key }}{{ c.get_status_display }}{% endfor %}",
    "{{ contact.messages.all.0.enrollment.flow.enrollments.all }}",
    "{% for e in contact.enrollments.all.0.flow.enrollments.all %}"
    "{{ e.contact.email }}{{ e.contact.user.password }}{% endfor %}",
    "{% for s in contact.popup_signups.all.0.popup.signups.all %}{{ s.contact.email }}{% endfor %}",
    "{{ contact.get_time_zone }}{{ contact.external_ids }}",
    "{{ cart.cart_key }}{{ cart.uuid }}{{ cart.get_status_display }}{{ cart.contact.email }}",
    "{{ cart.contact.user.password }}",
)
WALKS = "\n".join(WALKS_FROM_CONTACT)
# What templates are meant to see still renders.
PUBLIC = "Hi {{ contact.first_name }} {{ contact.last_name }} <{{ contact.email }}>"


@pytest.fixture
def world():
    """Ann (a shop user with a password, a cart, a popup signup, an enrollment) and Bob,
    another contact in the same flow and popup."""
    user = get_user_model().objects.create_user(
        "ann-login", "ann.login@shop-users.example", "s3cret-pass"
    )
    ann = ContactFactory(
        first_name="Ann",
        last_name="Lee",
        email="ann@example.com",
        user=user,
        external_ids={"crm": "CRM-ANN-77"},
        time_zone="Europe/Paris",
        attributes={"birth_year": 1990},
    )
    bob = ContactFactory(first_name="Bob", email="bob.other@example.com")
    cart = CartSnapshotFactory(contact=ann, cart_key="SHOP-CART-KEY-1")
    flow = make_flow()
    for contact in (ann, bob):
        Enrollment.objects.create(
            flow=flow, contact=contact, triggered_at=timezone.now(), trigger_key=f"e-{contact.pk}"
        )
    popup = PopupFactory()
    for contact in (ann, bob):
        PopupSignup.objects.create(popup=popup, variant=popup.variants.get(), contact=contact)
    Message.objects.create(
        contact=ann,
        channel="email",
        idempotency_key="ANN-EARLIER-MESSAGE-KEY",
        to="ann@example.com",
        enrollment=ann.enrollments.get(),
        scheduled_at=timezone.now() - timedelta(days=1),
    )
    return {"user": user, "ann": ann, "bob": bob, "cart": cart, "popup": popup}


def assert_nothing_private(output, world):
    user, ann = world["user"], world["ann"]
    private = [
        user.password,
        "ann.login@shop-users.example",
        "ann-login",
        "bob.other@example.com",
        "SHOP-CART-KEY-1",
        str(world["cart"].uuid),
        "ANN-EARLIER-MESSAGE-KEY",
        str(ann.uuid),
        "CRM-ANN-77",
        "QuerySet",
        "Europe/Paris",  # get_time_zone() is a method; the time zone field is "time_zone"
    ]
    leaked = [value for value in private if value in output]
    assert leaked == [], output


def test_dispatched_messages_render_without_the_model_graph(world, locmem_channels):
    ann = world["ann"]
    walked, public = (
        enqueue(
            ann,
            "inbox",
            {"title": PUBLIC, "body": body},
            idempotency_key=f"probe-{index}",
            purpose=Purpose.TRANSACTIONAL,
            context={"cart": {"lines": [], "value": "25.00", "currency": "EUR"}},
        )[0]
        for index, body in enumerate((WALKS, "{{ cart.value }} {{ cart.lines.clear }}"))
    )
    sweep()
    [(_channel, _to, rendered, _uuid)] = locmem_channels
    assert rendered == {"title": "Hi Ann Lee <ann@example.com>", "body": "25.00 None"}
    # A walk beyond the plain values finds nothing there: the message fails, saying where.
    walked.refresh_from_db()
    assert walked.status == MessageStatus.FAILED
    assert "{{ contact.user.password }}" in walked.last_error
    assert_nothing_private(walked.last_error, world)


def test_render_message_gives_the_documented_contact_fields(world):
    ann = world["ann"]
    message = Message(
        contact=ann,
        channel="email",
        content={
            "text": "{{ contact.full_name }}|{{ contact.country }}|{{ contact.time_zone }}|"
            "{{ contact.locale }}|{{ contact.phone }}|{{ contact.attributes.birth_year }}"
        },
    )
    assert render_message(message)["text"] == "Ann Lee||Europe/Paris|||1990"


def test_a_template_calling_methods_of_its_context_changes_nothing_stored(world):
    lines = [{"name": "Mug", "quantity": 1}]
    message = Message(
        contact=world["ann"],
        channel="email",
        content={"text": "{{ cart.lines.clear }}{{ contact.attributes.clear }}"},
        context={"cart": {"lines": lines}},
    )
    render_message(message)
    assert message.context == {"cart": {"lines": [{"name": "Mug", "quantity": 1}]}}
    assert world["ann"].attributes == {"birth_year": 1990}


def test_a_shop_context_holding_objects_reaches_only_their_text(world, monkeypatch):
    from omnichannel.outbox.rendering import get_adapter

    adapter = get_adapter()
    monkeypatch.setattr(
        adapter, "get_shop_context", lambda: {"name": "Shop", "owner": world["user"]}
    )
    message = Message(
        contact=world["ann"],
        channel="email",
        content={"text": "{{ shop.name }} {{ shop.owner }}|{{ shop.owner.password }}"},
    )
    with pytest.raises(MissingVariable) as raised:
        render_message(message)
    assert raised.value.tags == ["{{ shop.owner.password }}"]
    message.content = {"text": "{{ shop.name }} {{ shop.owner }}"}
    assert render_message(message)["text"] == f"Shop {world['user']}"


def test_the_admin_preview_renders_without_the_model_graph(world):
    step = make_flow(slug="probe-flow").steps.get()
    step.contents.update(subject=PUBLIC, text=WALKS, html=WALKS)
    [email] = preview_step(step, world["ann"])
    parts = {part.name: part.value for part in email.parts}
    assert not email.errors
    assert parts["subject"] == "Hi Ann Lee <ann@example.com>"
    assert_nothing_private(parts["text"] + parts["html"], world)


POPUP_WALKS = (
    "{{ variant.headline }}|{{ popup.collect_email }}|"
    "{{ popup.signups.all }}{{ popup.pk }}{{ variant.pk }}"
    "{% for s in popup.signups.all %}{{ s.contact.email }}{{ s.contact.user.password }}"
    "{% endfor %}"
    "{% for s in variant.signups.all %}{{ s.contact.email }}{% endfor %}"
    "{{ variant.popup.signups.all.0.contact.user.email }}{{ variant.events.count }}"
    "{{ variant.consent_text }}{{ popup.is_live }}"
)


def test_an_overridden_popup_template_sees_only_the_popups_fields(world, settings):
    settings.TEMPLATES = [
        {
            **settings.TEMPLATES[0],
            "APP_DIRS": False,
            "OPTIONS": {
                "loaders": [
                    (
                        "django.template.loaders.locmem.Loader",
                        {"omnichannel/popups/popup.html": POPUP_WALKS},
                    )
                ]
            },
        }
    ]
    popup = world["popup"]
    markup = render_popup(popup, popup.variants.get())
    assert markup == "Get 10 % off your first order|True|"
    assert_nothing_private(markup, world)


INBOX_WALKS = (
    "{% for m in messages %}{{ m.rendered.title }}|{{ m.contact.email }}"
    "{{ m.contact.user.password }}{{ m.idempotency_key }}{{ m.to }}{{ m.pk }}"
    "{{ m.enrollment.flow.enrollments.all }}{{ m.contact.messages.all }}{% endfor %}"
)


def test_an_overridden_inbox_template_sees_only_the_messages_parts(world, settings, rf):
    ann = world["ann"]
    Message.objects.create(
        contact=ann,
        channel="inbox",
        status=MessageStatus.DELIVERED,
        idempotency_key="INBOX-MESSAGE-KEY",
        to=str(ann.uuid),
        enrollment=ann.enrollments.get(),
        scheduled_at=timezone.now(),
        sent_at=timezone.now(),
        rendered={"title": "Welcome", "body": "", "url": ""},
    )
    settings.TEMPLATES = [
        {
            **settings.TEMPLATES[0],
            "APP_DIRS": False,
            "OPTIONS": {
                **settings.TEMPLATES[0]["OPTIONS"],
                "loaders": [
                    (
                        "django.template.loaders.locmem.Loader",
                        {"omnichannel/inbox.html": INBOX_WALKS},
                    )
                ],
            },
        }
    ]
    request = rf.get("/")
    request.session, request.user = SessionStore(), AnonymousUser()
    remember_contact(request, ann, verified=True)
    html = Template("{% load omnichannel_inbox %}{% omnichannel_inbox %}").render(
        Context({"request": request})
    )
    assert html == "Welcome|"
    assert "INBOX-MESSAGE-KEY" not in html
    assert_nothing_private(html, world)
