"""The contact timeline: order, completeness, filters, cursors, bounded queries, the admin."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from omnichannel.contacts.consent import grant_consent, withdraw_consent
from omnichannel.contacts.timeline import Cursor, contact_timeline
from omnichannel.models import (
    CartSnapshot,
    ConsentEvent,
    DeliveryEvent,
    Enrollment,
    Flow,
    InboundMessage,
    Message,
    PopupEvent,
    PopupSignup,
    Step,
    TrackedOrder,
)
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory, PopupFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def stamp(obj, **times):
    """Set auto_now_add columns, which ``create()`` cannot."""
    type(obj).objects.filter(pk=obj.pk).update(**times)


def popup_event(contact, popup, kind, when):
    event = PopupEvent.objects.create(
        popup=popup, variant=popup.variants.get(), kind=kind, contact=contact
    )
    stamp(event, created_at=when)


def consent_change(contact, channel, when, *, granted=True, wording="", source="test"):
    record = grant_consent if granted else withdraw_consent
    record(contact, channel, source=source, wording=wording)
    stamp(ConsentEvent.objects.filter(contact=contact).latest("id"), created_at=when)


def message(contact, when, *, channel="email", step=None, key=None, subject="Your cart"):
    return Message.objects.create(
        contact=contact,
        channel=channel,
        step=step,
        idempotency_key=key or f"{contact.pk}-{channel}-{when.isoformat()}",
        scheduled_at=when,
        rendered={"subject": subject, "html": "<p>" + "x" * 5000 + "</p>"},
    )


def event(msg, kind, when, detail=""):
    return DeliveryEvent.objects.create(message=msg, kind=kind, occurred_at=when, detail=detail)


def flow_step():
    flow = Flow.objects.create(
        name="Cart recovery", slug=f"cart-{Flow.objects.count()}", kind="cart_recovery",
        trigger="cart_abandoned",
    )  # fmt: skip
    return Step.objects.create(flow=flow, name="First nudge", position=0)


@pytest.fixture
def history():
    """One entry of every source, a minute apart; returns the contact and the expected
    sources, newest first."""
    contact = ContactFactory(signed_up_at=at(1), phone="+33612345678")
    popup = PopupFactory(name="Welcome 10 %")
    popup_event(contact, popup, "impression", at(2))
    popup_event(contact, popup, "submit", at(3))
    PopupSignup.objects.create(
        popup=popup, contact=contact, discount_code="WELCOME-7K2", completed_at=at(4)
    )
    consent_change(contact, "email", at(5), wording="Email me offers.", source="popup:welcome")
    cart = CartSnapshotFactory(
        contact=contact, last_activity_at=at(7), abandoned_at=at(8), converted_at=at(15),
        status="recovered",
    )  # fmt: skip
    stamp(cart, created_at=at(6))
    step = flow_step()
    Enrollment.objects.create(
        flow=step.flow, contact=contact, cart=cart, trigger_key="cart:1", state="exited",
        exit_reason="ordered", triggered_at=at(9), ended_at=at(16),
    )  # fmt: skip
    email = message(contact, at(10), step=step)
    stamp(email, created_at=at(10))
    event(email, "sent", at(10) + timedelta(seconds=5))
    event(email, "delivered", at(10) + timedelta(seconds=9))
    event(email, "opened", at(11))
    event(email, "clicked", at(12), detail="https://shop.example.com/cart/")
    reply = InboundMessage.objects.create(
        provider_message_id="SM1", channel="sms", contact=contact, from_address=contact.phone,
        to_address="+33700000000", body="Is the mug dishwasher safe?",
    )  # fmt: skip
    stamp(reply, received_at=at(13))
    TrackedOrder.objects.create(
        order_key="1001", contact=contact, cart=cart, total="25.00", currency="EUR",
        placed_at=at(14),
    )  # fmt: skip
    consent_change(contact, "sms", at(17), granted=False, source="stop")
    expected = [
        "consent", "flow_left", "cart_ordered", "order", "reply", "click", "open", "message",
        "flow_entered", "cart_abandoned", "cart_changed", "cart_started", "consent",
        "popup_signup", "popup_event", "popup_event", "signup",
    ]  # fmt: skip
    return contact, expected


def sources(page):
    return [entry.source for entry in page.entries]


def test_every_source_in_exact_order(history):
    contact, expected = history
    page = contact_timeline(contact)
    assert sources(page) == expected
    assert page.next_cursor is None
    assert [entry.at for entry in page.entries] == sorted(
        (entry.at for entry in page.entries), reverse=True
    )


def test_entries_say_what_happened(history):
    contact, _ = history
    entries = {entry.source: entry for entry in contact_timeline(contact).entries}
    mail = entries["message"]
    assert mail.title == "Your cart"
    assert "step 1: First nudge" in mail.detail and "Cart recovery" in mail.detail
    assert [e.kind for e in mail.events] == ["sent", "delivered", "opened", "clicked"]
    assert (mail.kind, mail.channel, mail.channel_label) == ("message", "email", "Email")
    assert entries["click"].detail == "https://shop.example.com/cart/"
    assert entries["click"].obj == mail.obj
    assert entries["cart_changed"].detail.startswith("2 × Mug")
    assert entries["cart_ordered"].title == "Ordered the cart after a reminder"
    assert entries["flow_left"].detail == "Exited · ordered"
    assert "WELCOME-7K2" in entries["popup_signup"].detail
    assert entries["reply"].title == "Replied: Is the mug dishwasher safe?"
    consents = [entry for entry in contact_timeline(contact).entries if entry.kind == "consent"]
    assert consents[1].detail == "“Email me offers.” · source: popup:welcome"
    assert consents[0].title == "Marketing: Withdrawn"


@pytest.mark.parametrize(
    ("channels", "expected"),
    [
        (["email"], ["click", "open", "message", "consent"]),
        (["sms"], ["consent", "reply"]),
        (["sms", "email"], ["consent", "reply", "click", "open", "message", "consent"]),
        (["push"], []),
    ],
)
def test_filter_by_channel(history, channels, expected):
    contact, _ = history
    assert sources(contact_timeline(contact, channels=channels)) == expected


def test_filter_by_kind(history):
    contact, _ = history
    carts = contact_timeline(contact, kinds=["cart"])
    assert sources(carts) == ["cart_ordered", "cart_abandoned", "cart_changed", "cart_started"]
    signups = contact_timeline(contact, kinds=["signup", "reply"])
    assert sources(signups) == ["reply", "popup_signup", "signup"]


def test_filter_by_period(history):
    contact, expected = history
    page = contact_timeline(contact, since=at(6), until=at(10))
    assert sources(page) == ["flow_entered", "cart_abandoned", "cart_changed", "cart_started"]


def walk(contact, size, **filters):
    """Every page of ``size`` entries, following the cursors."""
    pages, before = [], None
    while True:
        page = contact_timeline(contact, limit=size, before=before, **filters)
        pages.append(page.entries)
        if page.next_cursor is None:
            return pages
        assert len(page.entries) == size
        before = Cursor.parse(str(page.next_cursor))


def keys(entries):
    return [(entry.source, entry.pk) for entry in entries]


@pytest.fixture
def crowded(history):
    """The history plus many entries sharing instants, within and across sources."""
    contact, _ = history
    for n in range(12):
        mail = message(contact, at(20), key=f"crowd-{n}", channel="sms" if n % 3 else "email")
        stamp(mail, created_at=at(20))
        event(mail, "clicked", at(20))
    popup = PopupFactory()
    for _n in range(5):
        popup_event(contact, popup, "impression", at(20))
    return contact


@pytest.mark.parametrize("size", [1, 4, 7, 50])
def test_pages_have_no_gaps_and_no_duplicates(crowded, size):
    everything = keys(contact_timeline(crowded, limit=1000).entries)
    assert len(everything) == len(set(everything)) == 17 + 12 * 2 + 5
    pages = walk(crowded, size)
    assert keys(entry for page in pages for entry in page) == everything


def test_pages_with_filters(crowded):
    filters = {"channels": ["sms"], "kinds": ["message", "click", "consent"]}
    everything = keys(contact_timeline(crowded, limit=1000, **filters).entries)
    assert len(everything) == 8 * 2 + 1
    pages = walk(crowded, 3, **filters)
    assert keys(entry for page in pages for entry in page) == everything


@pytest.mark.parametrize("text", ["", "1.2", "x.message.1", "1.nosuch.1", "1.message.x", "9" * 30])
def test_cursor_refuses_anything_it_did_not_write(text):
    with pytest.raises(ValueError):
        Cursor.parse(text + (".message.1" if text == "9" * 30 else ""))


def test_cursor_round_trip_is_exact():
    cursor = Cursor(T0 + timedelta(microseconds=123457), "click", 42)
    assert Cursor.parse(str(cursor)) == cursor


def busy_contact(size):
    """A contact with about ``size`` entries across the sources."""
    contact = ContactFactory(signed_up_at=at(0))
    step = flow_step()
    popup = PopupFactory()
    for n in range(size // 10):
        mail = message(contact, at(n), step=step, key=f"busy-{n}")
        event(mail, "delivered", at(n))
        event(mail, "opened", at(n + 1))
        event(mail, "clicked", at(n + 2))
        popup_event(contact, popup, "impression", at(n))
        consent_change(contact, "email", at(n))
        cart = CartSnapshotFactory(contact=contact, abandoned_at=at(n), converted_at=at(n))
        Enrollment.objects.create(
            flow=step.flow, contact=contact, cart=cart, trigger_key=f"busy-{n}",
            triggered_at=at(n), ended_at=at(n + 3),
        )  # fmt: skip
        TrackedOrder.objects.create(
            order_key=f"busy-{n}", contact=contact, total=1, currency="EUR", placed_at=at(n)
        )
    return contact


# One query per source and one for the delivery events of the page's messages.
TIMELINE_QUERIES = 17


@pytest.mark.parametrize("size", [10, 200])
def test_queries_do_not_grow_with_the_history(size, django_assert_max_num_queries):
    contact = busy_contact(size)
    first = contact_timeline(contact, limit=20)
    with django_assert_max_num_queries(TIMELINE_QUERIES):
        page = contact_timeline(contact, limit=20, before=first.next_cursor)
        assert all(entry.events is not None for entry in page.entries)


@pytest.mark.parametrize("size", [10, 200])
def test_admin_page_queries_do_not_grow(admin_client, size, django_assert_max_num_queries):
    contact = busy_contact(size)
    url = reverse("admin:omnichannel_contact_timeline", args=[contact.pk])
    # The session, the user, the contact, then the timeline.
    with django_assert_max_num_queries(TIMELINE_QUERIES + 3):
        response = admin_client.get(url)
    assert response.status_code == 200


# --- the admin ----------------------------------------------------------------------------


def test_admin_timeline_page(admin_client, history):
    contact, expected = history
    response = admin_client.get(reverse("admin:omnichannel_contact_timeline", args=[contact.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert [entry.source for entry, _url in response.context["rows"]] == expected
    change = reverse("admin:omnichannel_contact_change", args=[contact.pk])
    assert f'href="{change}"' in body  # breadcrumbs
    mail = Message.objects.get()
    assert reverse("admin:omnichannel_message_change", args=[mail.pk]) in body
    assert "Delivered" in body  # the message's delivery events, under it
    assert "Older entries" not in body


def test_admin_pages_follow_the_cursor(admin_client, crowded, monkeypatch):
    monkeypatch.setattr("omnichannel.admin.timeline.PAGE_SIZE", 10)
    url = reverse("admin:omnichannel_contact_timeline", args=[crowded.pk])
    seen, query = [], {"channel": ["sms", "email"]}
    while True:
        response = admin_client.get(url, query)
        seen += [(entry.source, entry.pk) for entry, _url in response.context["rows"]]
        if not response.context["next_cursor"]:
            break
        assert "Older entries" in response.content.decode()
        query = {**query, "before": response.context["next_cursor"]}
    assert seen == keys(contact_timeline(crowded, limit=1000, channels=["sms", "email"]).entries)


def test_admin_period_filter_takes_whole_days(admin_client, history):
    contact, _ = history
    late = message(contact, T0 + timedelta(days=2), key="later")
    stamp(late, created_at=T0 + timedelta(days=2))
    url = reverse("admin:omnichannel_contact_timeline", args=[contact.pk])
    day = T0.date() + timedelta(days=2)
    response = admin_client.get(url, {"since": day.isoformat(), "until": day.isoformat()})
    assert [entry.pk for entry, _url in response.context["rows"]] == [late.pk]
    response = admin_client.get(url, {"until": T0.date().isoformat(), "kind": "message"})
    assert len(response.context["rows"]) == 1


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"before": "garbage"}, "This page link is damaged"),
        ({"since": "2024-05-02", "until": "2024-05-01"}, "The end date is before the start"),
        ({"kind": "nonsense"}, "Select a valid choice"),
    ],
)
def test_admin_filter_errors_are_shown(admin_client, history, query, error):
    contact, _ = history
    url = reverse("admin:omnichannel_contact_timeline", args=[contact.pk])
    response = admin_client.get(url, query)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert response.context["rows"] == []


def test_contact_page_shows_the_latest_entries_and_links_the_full_timeline(admin_client):
    contact = busy_contact(40)
    response = admin_client.get(reverse("admin:omnichannel_contact_change", args=[contact.pk]))
    body = response.content.decode()
    assert body.count('class="timeline-entry ') == 20
    assert reverse("admin:omnichannel_contact_timeline", args=[contact.pk]) in body
    assert "Full timeline" in body


def test_customer_text_is_escaped(admin_client):
    contact = ContactFactory(first_name="<b>Ann</b>")
    CartSnapshotFactory(
        contact=contact,
        lines=[{"name": "<script>alert(1)</script>", "quantity": 1, "unit_price": "1.00"}],
    )
    InboundMessage.objects.create(
        provider_message_id="SM2", channel="sms", contact=contact, from_address="+33600000000",
        to_address="+33700000000", body='<img src=x onerror="alert(2)">',
    )  # fmt: skip
    consent_change(contact, "email", at(1), wording="<i>yes</i>")
    for url in (
        reverse("admin:omnichannel_contact_timeline", args=[contact.pk]),
        reverse("admin:omnichannel_contact_change", args=[contact.pk]),
    ):
        body = admin_client.get(url).content.decode()
        assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body
        assert "<img src=x" not in body and "&lt;img src=x" in body
        assert "<i>yes</i>" not in body and "&lt;i&gt;yes&lt;/i&gt;" in body


def test_needs_permission_to_view_the_contact(client, django_user_model, contact):
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    url = reverse("admin:omnichannel_contact_timeline", args=[contact.pk])
    assert client.get(url).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_contact"))
    assert client.get(url).status_code == 200


def test_anonymous_is_sent_to_the_login_page(client, contact):
    response = client.get(reverse("admin:omnichannel_contact_timeline", args=[contact.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_unknown_contact_redirects_like_the_admin_does(admin_client):
    response = admin_client.get(reverse("admin:omnichannel_contact_timeline", args=[999999]))
    assert response.status_code == 302


def test_entries_link_only_to_registered_admin_pages(admin_client, history):
    contact, _ = history
    response = admin_client.get(reverse("admin:omnichannel_contact_timeline", args=[contact.pk]))
    links = {entry.source: url for entry, url in response.context["rows"]}
    assert links["signup"] == ""
    assert links["order"] == reverse(
        "admin:omnichannel_trackedorder_change", args=[TrackedOrder.objects.get().pk]
    )
    assert links["cart_changed"] == reverse(
        "admin:omnichannel_cartsnapshot_change", args=[CartSnapshot.objects.get().pk]
    )


def test_the_products_a_contact_looked_at_are_on_their_timeline(admin_client):
    from decimal import Decimal

    from omnichannel.models import ProductView

    contact = ContactFactory()
    ProductView.objects.create(
        viewer=f"contact:{contact.pk}", contact=contact, product_id="7", name="Mug",
        price=Decimal("12.50"), first_viewed_at=at(0), last_viewed_at=at(90),
    )  # fmt: skip
    [entry] = contact_timeline(contact).entries
    assert (entry.kind, entry.at, entry.title) == ("view", at(90), "Viewed “Mug”")
    assert entry.detail == f"12.50 · first viewed {at(0).date()}"
    assert contact_timeline(contact, kinds=["view"]).entries == [entry]
    page = admin_client.get(reverse("admin:omnichannel_contact_timeline", args=[contact.pk]))
    assert "Viewed “Mug”" in page.content.decode()
