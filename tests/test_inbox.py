"""The on-site inbox: its JSON endpoints and the ``{% omnichannel_inbox %}`` tag."""

import itertools
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from omnichannel.conf import omnichannel_settings
from omnichannel.integrations.session import remember_contact
from omnichannel.models import DeliveryEvent, Message
from omnichannel.models.consent import Purpose
from omnichannel.models.messages import DeliveryEventKind, MessageStatus
from omnichannel.outbox.dispatch import sweep
from omnichannel.outbox.queueing import enqueue
from omnichannel.testing.factories import ContactFactory

pytestmark = pytest.mark.django_db

_keys = itertools.count()


def inbox_message(contact, title="Welcome", *, body="", url="", minutes_ago=0, **fields):
    """A message already in ``contact``'s inbox, as the dispatcher leaves it."""
    sent_at = timezone.now() - timedelta(minutes=minutes_ago)
    fields = {"channel": "inbox", "status": MessageStatus.DELIVERED, **fields}
    return Message.objects.create(
        contact=contact,
        idempotency_key=f"inbox-test-{next(_keys)}",
        scheduled_at=sent_at,
        sent_at=sent_at,
        rendered={"title": title, "body": body, "url": url},
        **fields,
    )


def remember(client, contact):
    session = client.session
    session[omnichannel_settings.SESSION_KEY] = {"contact": contact.pk, "verified": True}
    session.save()


def post(client, name, *args):
    return client.post(reverse(f"omnichannel:{name}", args=args), content_type="application/json")


def listing(client, **params):
    response = client.get(reverse("omnichannel:inbox_list"), params)
    assert response.status_code == 200
    return response.json()


class TestList:
    def test_the_session_contacts_inbox_newest_first(self, client, contact):
        older = inbox_message(contact, "Older", minutes_ago=10, read_at=timezone.now())
        newer = inbox_message(contact, "Newer", body="Hi", url="/offers/", status="sent")
        inbox_message(contact, "Queued", status=MessageStatus.QUEUED)
        inbox_message(contact, "Failed", status=MessageStatus.FAILED)
        inbox_message(contact, "An email", channel="email")
        inbox_message(ContactFactory(), "Someone else's")
        remember(client, contact)

        page = listing(client)

        assert (page["count"], page["unread_count"]) == (2, 1)
        assert [item["title"] for item in page["results"]] == ["Newer", "Older"]
        first = page["results"][0]
        assert first == {
            "id": str(newer.uuid),
            "title": "Newer",
            "body": "Hi",
            "url": "/offers/",
            "sent_at": first["sent_at"],
            "read_at": None,
        }
        assert page["results"][1]["read_at"] is not None and older.read_at

    def test_paginated(self, client, contact):
        for minutes in range(3):
            inbox_message(contact, f"m{minutes}", minutes_ago=minutes)
        remember(client, contact)
        page = listing(client, page_size=2)
        assert (page["count"], len(page["results"]), page["unread_count"]) == (3, 2, 3)
        assert page["next"].endswith("page=2&page_size=2")
        assert [m["title"] for m in listing(client, page_size=2, page=2)["results"]] == ["m2"]

    def test_page_beyond_the_end_is_404(self, client, contact):
        remember(client, contact)
        response = client.get(reverse("omnichannel:inbox_list"), {"page": 5})
        assert response.status_code == 404
        assert response.json() == {"detail": "Invalid page."}

    def test_the_logged_in_users_contact(self, client, customer):
        contact = ContactFactory(user=customer)
        inbox_message(contact, "For Ann")
        client.force_login(customer)
        assert [m["title"] for m in listing(client)["results"]] == ["For Ann"]

    def test_a_visitor_without_contact_has_an_empty_inbox(self, client, contact):
        inbox_message(contact)
        page = listing(client)
        assert (page["count"], page["unread_count"], page["results"]) == (0, 0, [])

    def test_a_session_naming_a_deleted_contact_has_an_empty_inbox(self, client, contact):
        remember(client, contact)
        contact.delete()
        assert listing(client)["count"] == 0

    def test_links_other_than_http_are_dropped(self, client, contact):
        inbox_message(contact, url="javascript:alert(1)")
        inbox_message(contact, url=" JavaScript:alert(1)")
        inbox_message(contact, url="https://shop.example.com/cart/")
        remember(client, contact)
        urls = sorted(item["url"] for item in listing(client)["results"])
        assert urls == ["", "", "https://shop.example.com/cart/"]

    def test_a_message_sent_by_the_dispatcher_lands_in_the_inbox(self, client, settings, contact):
        settings.OMNICHANNEL = {
            **settings.OMNICHANNEL,
            "CHANNEL_BACKENDS": {"inbox": "omnichannel.channels.inbox.InboxBackend"},
        }
        contact.first_name = "Ann"
        contact.save()
        enqueue(
            contact,
            "inbox",
            {"title": "Hello {{ contact.first_name }}", "body": "Your order shipped"},
            idempotency_key="shipped",
            purpose=Purpose.TRANSACTIONAL,
        )
        sweep()
        remember(client, contact)
        [item] = listing(client)["results"]
        assert (item["title"], item["body"], item["read_at"]) == (
            "Hello Ann",
            "Your order shipped",
            None,
        )


class TestRead:
    def test_marks_one_message_read_once(self, client, contact):
        message = inbox_message(contact)
        remember(client, contact)

        response = post(client, "inbox_read", message.uuid)

        assert response.status_code == 200
        message.refresh_from_db()
        assert response.json()["read_at"] is not None and message.read_at is not None
        first_read = message.read_at
        assert post(client, "inbox_read", message.uuid).status_code == 200
        message.refresh_from_db()
        assert message.read_at == first_read
        assert message.events.filter(kind=DeliveryEventKind.READ).count() == 1

    def test_someone_elses_message_is_404(self, client, contact):
        theirs = inbox_message(ContactFactory())
        remember(client, contact)
        response = post(client, "inbox_read", theirs.uuid)
        assert response.status_code == 404
        assert response.json() == {"detail": "Your inbox has no message with this id."}
        theirs.refresh_from_db()
        assert theirs.read_at is None

    @pytest.mark.parametrize("message_id", ["not-a-uuid", "123"])
    def test_a_malformed_id_is_a_json_404(self, client, contact, message_id):
        remember(client, contact)
        response = post(client, "inbox_read", message_id)
        assert response.status_code == 404
        assert "no message with this id" in response.json()["detail"]

    def test_without_contact_is_404(self, client, contact):
        message = inbox_message(contact)
        assert post(client, "inbox_read", message.uuid).status_code == 404

    def test_read_all_marks_only_the_unread(self, client, contact):
        earlier = timezone.now() - timedelta(days=1)
        already = inbox_message(contact, read_at=earlier)
        unread = [inbox_message(contact), inbox_message(contact)]
        remember(client, contact)

        response = post(client, "inbox_read_all")

        assert response.json() == {"marked": 2}
        already.refresh_from_db()
        assert already.read_at == earlier
        events = DeliveryEvent.objects.filter(kind=DeliveryEventKind.READ)
        assert sorted(e.message_id for e in events) == sorted(m.pk for m in unread)
        assert listing(client)["unread_count"] == 0

    def test_read_all_without_contact_marks_nothing(self, client, contact):
        inbox_message(contact)
        assert post(client, "inbox_read_all").json() == {"marked": 0}
        assert not DeliveryEvent.objects.exists()

    def test_csrf_token_is_required_for_an_anonymous_session(self, contact):
        inbox_message(contact)
        client = Client(enforce_csrf_checks=True)
        remember(client, contact)
        response = post(client, "inbox_read_all")
        assert response.status_code == 403
        assert response.json()["detail"] == "CSRF Failed: CSRF cookie not set."
        client.cookies["csrftoken"] = "b" * 32
        response = client.post(
            reverse("omnichannel:inbox_read_all"),
            content_type="application/json",
            HTTP_X_CSRFTOKEN="b" * 32,
        )
        assert response.json() == {"marked": 1}

    def test_listing_needs_no_csrf_token(self, contact):
        client = Client(enforce_csrf_checks=True)
        remember(client, contact)
        assert client.get(reverse("omnichannel:inbox_list")).status_code == 200


# --- the template tag --------------------------------------------------------------------

TAG = Template("{% load omnichannel_inbox %}{% omnichannel_inbox %}")


def render_tag(request, source=TAG):
    context = {} if request is None else {"request": request}
    return source.render(Context(context))


@pytest.fixture
def visitor(rf):
    """A page request from an anonymous visitor with a session."""
    request = rf.get("/")
    request.session = SessionStore()
    request.user = AnonymousUser()
    return request


class TestTemplateTag:
    def test_renders_the_badge_and_the_messages(self, visitor, contact):
        inbox_message(contact, "Read one", read_at=timezone.now(), minutes_ago=5)
        fresh = inbox_message(contact, "Fresh", body="Line one\nline two", url="/offers/")
        remember_contact(visitor, contact, verified=True)

        html = render_tag(visitor)

        assert '<span class="omnichannel-inbox__badge"' in html
        assert ">1</span>" in html
        assert html.index("Fresh") < html.index("Read one")
        assert "Line one<br>line two" in html
        assert '<a href="/offers/">' in html
        read_url = reverse("omnichannel:inbox_read", args=[fresh.uuid])
        assert f'data-read-url="{read_url}"' in html

    def test_customer_typed_text_is_escaped(self, visitor, contact):
        inbox_message(
            contact,
            '<script>alert("t")</script>',
            body="<img src=x onerror=alert(1)>",
            url="javascript:alert(1)",
        )
        remember_contact(visitor, contact, verified=True)

        html = render_tag(visitor)

        assert "<script>" not in html and "&lt;script&gt;" in html
        assert "<img" not in html and "&lt;img src=x" in html
        assert "javascript:" not in html

    def test_limit(self, visitor, contact):
        for minutes in range(3):
            inbox_message(contact, f"title-{minutes}", minutes_ago=minutes)
        remember_contact(visitor, contact, verified=True)
        html = render_tag(
            visitor, Template("{% load omnichannel_inbox %}{% omnichannel_inbox limit=2 %}")
        )
        assert "title-0" in html and "title-1" in html and "title-2" not in html

    def test_a_known_contact_with_no_messages_sees_the_empty_inbox(self, visitor, contact):
        remember_contact(visitor, contact, verified=True)
        html = render_tag(visitor)
        assert "No messages yet." in html and "badge" not in html

    def test_nothing_without_a_request(self, contact):
        assert render_tag(None) == ""

    def test_nothing_without_a_contact(self, visitor, contact):
        inbox_message(contact)
        assert render_tag(visitor) == ""

    def test_a_failure_is_logged_and_renders_nothing(self, visitor, caplog, monkeypatch):
        def broken(request):
            raise RuntimeError("database is down")

        monkeypatch.setattr("omnichannel.templatetags.omnichannel.visitor_contact", broken)
        assert render_tag(visitor) == ""
        assert "the inbox could not be rendered" in caplog.text
        assert "database is down" in caplog.text

    def test_the_template_can_be_overridden(self, visitor, contact, settings, tmp_path):
        (tmp_path / "omnichannel").mkdir()
        (tmp_path / "omnichannel" / "inbox.html").write_text(
            "{{ unread_count }} new{% for m in messages %}|{{ m.rendered.title }}{% endfor %}"
        )
        settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
        inbox_message(contact, "Tom & Jerry")
        remember_contact(visitor, contact, verified=True)
        assert render_tag(visitor) == "1 new|Tom &amp; Jerry"


def test_the_api_returns_text_unescaped_for_the_client_to_escape(client, contact):
    inbox_message(contact, "Tom & Jerry <3")
    remember(client, contact)
    response = client.get(reverse("omnichannel:inbox_list"))
    assert json.loads(response.content)["results"][0]["title"] == "Tom & Jerry <3"


def test_typing_someones_email_does_not_open_their_inbox(client, contact, rf):
    """identify() from a typed email ties the session to the contact, unverified."""
    from omnichannel.integrations import identify

    Message.objects.create(
        contact=contact, channel="inbox", status="delivered", idempotency_key="private",
        rendered={"title": "Your order"}, scheduled_at=timezone.now(), sent_at=timezone.now(),
    )  # fmt: skip
    client.get("/")  # a session
    request = rf.post("/")
    request.session, request.user = client.session, AnonymousUser()
    identify(request, email=contact.email)
    request.session.save()
    state = client.session[omnichannel_settings.SESSION_KEY]
    assert (state["contact"], state["verified"]) == (contact.pk, False)
    response = client.get(reverse("omnichannel:inbox_list"))
    assert response.status_code == 200 and response.json()["count"] == 0
