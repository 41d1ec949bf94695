"""Links in flow messages: UTM parameters, the click redirect, and what stays direct."""

import re
import time
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from omnichannel.core.tokens import click_token, read_click_token
from omnichannel.flows.engine import advance_due, enroll
from omnichannel.models import DeliveryEvent, Message, StepContent, StepVariant
from omnichannel.models.messages import DeliveryEventKind
from omnichannel.outbox.link_tracking import with_utm
from omnichannel.outbox.rendering import render_message
from omnichannel.testing.factories import ContactFactory

from .conftest import make_flow

pytestmark = pytest.mark.django_db

BASE = "https://shop.example.com"
CLICK_PREFIX = f"{BASE}/omnichannel/c/"
HTML = (
    '<p><a href="https://shop.example.com/products/mug/?colour=blue&amp;size=l#top">Mug</a>'
    "<a class='x' title=\"a > b\" href='https://partner.example.org/?utm_source=partner'>P</a>"
    '<a href="/products/kettle/">Kettle</a>'
    '<a href="mailto:hello@shop.example.com">Write</a><a href="tel:+33612345678">Call</a>'
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a><a href="{{ preferences_url }}">Prefs</a>'
    '<link rel="stylesheet" href="https://fonts.example.com/a.css">'
    '<a data-href="https://example.com/data">Data</a></p>'
)
TEXT = "See https://shop.example.com/products/mug/ or leave: {{ unsubscribe_url }}"


def hrefs(html):
    """The ``href`` values of ``html``, unescaped, in order (``data-href`` excluded)."""
    return [unescape(a or b) for a, b in re.findall(r"""\shref=(?:"([^"]*)"|'([^']*)')""", html)]


def target_of(link):
    """The URL a click link redirects to (it must be one)."""
    assert link.startswith(CLICK_PREFIX), link
    token = link[len(CLICK_PREFIX) :].rstrip("/")
    return read_click_token(token)


def query(url):
    return parse_qs(urlsplit(url).query)


def flow_message(channel="email", variant="", **content):
    """The message the engine queues for the first step of a one-step flow."""
    flow = make_flow(slug="spring-welcome", steps=[("Hello", timedelta(0), channel)])
    step = flow.steps.get()
    if variant:
        arm = StepVariant.objects.create(step=step, name=variant)
        StepContent.objects.filter(step=step).update(variant=arm)
    StepContent.objects.filter(step=step).update(**content)
    contact = ContactFactory(phone="+33612345678", consents=[channel])
    enroll(flow, contact, trigger_key=f"signup:{contact.pk}")
    advance_due()
    return Message.objects.get(enrollment__contact=contact)


@pytest.fixture
def email():
    return flow_message(html=HTML, text=TEXT)


class TestRewriting:
    def test_http_links_go_through_the_click_redirect_with_utm(self, email):
        mug = hrefs(render_message(email)["html"])[0]
        message_hex, target = target_of(mug)
        assert message_hex == email.uuid.hex
        parts = urlsplit(target)
        assert (parts.netloc, parts.path, parts.fragment) == (
            "shop.example.com",
            "/products/mug/",
            "top",
        )
        assert query(target) == {
            "colour": ["blue"],
            "size": ["l"],
            "utm_source": ["omnichannel"],
            "utm_medium": ["email"],
            "utm_campaign": ["spring-welcome"],
            "utm_content": ["1"],
        }

    def test_utm_parameters_already_there_are_not_overwritten(self, email):
        partner = hrefs(render_message(email)["html"])[1]
        target = target_of(partner)[1]
        assert urlsplit(target).netloc == "partner.example.org"  # any host is tracked
        assert query(target)["utm_source"] == ["partner"]
        assert query(target)["utm_medium"] == ["email"]

    def test_site_relative_links_are_made_absolute_then_tracked(self, email):
        kettle = hrefs(render_message(email)["html"])[2]
        target = target_of(kettle)[1]
        assert target.startswith(f"{BASE}/products/kettle/?utm_source=omnichannel&")

    def test_unsubscribe_preferences_mailto_and_tel_stay_direct(self, email):
        links = hrefs(render_message(email)["html"])
        assert links[3:5] == ["mailto:hello@shop.example.com", "tel:+33612345678"]
        unsubscribe, preferences = links[5:7]
        assert unsubscribe.startswith(f"{BASE}/omnichannel/unsubscribe/")
        assert preferences.startswith(f"{BASE}/omnichannel/preferences/")

    def test_only_the_links_of_anchors_are_touched(self, email):
        html = render_message(email)["html"]
        assert '<link rel="stylesheet" href="https://fonts.example.com/a.css">' in html
        assert 'data-href="https://example.com/data"' in html
        assert 'title="a > b"' in html

    def test_the_text_part_is_left_as_written(self, email):
        text = render_message(email)["text"]
        assert text.startswith("See https://shop.example.com/products/mug/ or leave: https://")
        assert "/omnichannel/c/" not in text

    def test_the_variant_is_in_utm_content(self):
        message = flow_message(variant="Short subject", html='<a href="https://x.example/">x</a>')
        target = target_of(hrefs(render_message(message)["html"])[0])[1]
        assert query(target)["utm_content"] == ["1-Short subject"]

    @pytest.mark.parametrize("channel", ["push", "inbox"])
    def test_push_and_inbox_urls_are_tracked(self, channel):
        message = flow_message(channel=channel, url="/sale/")
        target = target_of(render_message(message)["url"])[1]
        assert target.startswith(f"{BASE}/sale/?utm_source=omnichannel&utm_medium={channel}&")

    def test_sms_text_is_left_as_written(self):
        message = flow_message(channel="sms", text="Sale: https://shop.example.com/sale/")
        assert render_message(message)["text"] == "Sale: https://shop.example.com/sale/"

    def test_messages_outside_flows_are_left_as_written(self, contact):
        message = Message.objects.create(
            contact=contact,
            channel="email",
            idempotency_key="receipt:1",
            content={"html": '<a href="https://shop.example.com/orders/1/">Order</a>'},
            scheduled_at=timezone.now(),
        )
        assert hrefs(render_message(message)["html"]) == ["https://shop.example.com/orders/1/"]

    def test_without_a_public_base_url_nothing_is_rewritten(self, email, settings):
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "PUBLIC_BASE_URL": None}
        links = hrefs(render_message(email)["html"])
        assert links[0] == "https://shop.example.com/products/mug/?colour=blue&size=l#top"

    def test_with_utm_adds_only_what_is_missing(self):
        url = "https://x.example/p?utm_campaign=summer&a=1"
        added = with_utm(url, {"utm_source": "omnichannel", "utm_campaign": "welcome"})
        assert added == "https://x.example/p?utm_campaign=summer&a=1&utm_source=omnichannel"
        assert with_utm(added, {"utm_source": "other"}) == added


class TestClickView:
    @pytest.fixture
    def link(self, email):
        return hrefs(render_message(email)["html"])[0]

    def test_a_click_is_recorded_once_and_redirects_to_the_signed_url(self, client, link, email):
        target = target_of(link)[1]
        for _ in range(2):
            response = client.get(link)
            assert response.status_code == 302
            assert response["Location"] == target
        event = DeliveryEvent.objects.get(kind=DeliveryEventKind.CLICKED)
        assert (event.message, event.detail) == (email, target)

    def test_each_link_of_a_message_counts_once(self, client, email):
        links = hrefs(render_message(email)["html"])[:3]
        for link in links * 2:
            client.get(link)
        assert DeliveryEvent.objects.filter(message=email, kind="clicked").count() == 3

    def test_a_tampered_token_gets_a_friendly_page_and_records_nothing(self, client, link):
        token = link[len(CLICK_PREFIX) :].rstrip("/")
        forged = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
        response = client.get(reverse("omnichannel:click", args=[forged]))
        assert response.status_code == 400
        assert b'href="http://testserver"' in response.content  # back to the shop
        assert not DeliveryEvent.objects.filter(kind="clicked").exists()

    def test_a_target_cannot_be_chosen_by_the_visitor(self, client, email):
        # Signed with another purpose's salt (an unsubscribe token, say): refused.
        other = signing.TimestampSigner(salt="omnichannel.unsubscribe").sign_object(
            [email.uuid.hex, "https://evil.example/"], compress=True
        )
        response = client.get(reverse("omnichannel:click", args=[other]))
        assert response.status_code == 400
        assert "Location" not in response

    @pytest.mark.parametrize("token", ["nonsense", "a:b:c", ".eJzLSM3JyQcABiwCFQ:1:x"])
    def test_garbage_never_errors(self, client, token):
        assert client.get(reverse("omnichannel:click", args=[token])).status_code == 400

    def test_an_expired_link_is_refused(self, client, email, monkeypatch):
        long_ago = time.time() - 401 * 86400
        monkeypatch.setattr(signing.time, "time", lambda: long_ago)
        token = click_token(email, "https://shop.example.com/")
        monkeypatch.undo()
        assert client.get(reverse("omnichannel:click", args=[token])).status_code == 400

    def test_only_get_is_allowed(self, client, link):
        assert client.post(link).status_code == 405
        assert not DeliveryEvent.objects.filter(kind="clicked").exists()

    def test_nobody_is_logged_in_and_no_session_is_started(self, client, link):
        response = client.get(link)
        assert "sessionid" not in response.cookies
        assert "_auth_user_id" not in client.session

    def test_the_link_still_works_after_the_message_is_deleted(self, client, link, email):
        target = target_of(link)[1]
        email.delete()
        response = client.get(link)
        assert (response.status_code, response["Location"]) == (302, target)
