"""{% omnichannel_popup %}: what matches, what it costs a page, and that it never breaks one."""

import json
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from omnichannel.popups.config import live_markup
from omnichannel.testing.factories import PopupFactory
from sample_shop.shop.models import Product

pytestmark = pytest.mark.django_db

TAG = Template("{% load omnichannel %}{% omnichannel_popup %}")


def render(request):
    return TAG.render(Context({"request": request}))


def config(html):
    found = re.search(
        r'<script id="omnichannel-popups" type="application/json">(.*?)</script>', html
    )
    return json.loads(found.group(1)) if found else None


def shown_ids(html):
    data = config(html)
    return [popup["id"] for popup in data["popups"]] if data else []


@pytest.fixture
def page(rf):
    def make(path="/", **meta):
        from django.contrib.auth.models import AnonymousUser
        from django.contrib.sessions.backends.db import SessionStore

        request = rf.get(path, **meta)
        request.session = SessionStore()
        request.user = AnonymousUser()
        return request

    return make


def test_renders_nothing_without_a_request_or_a_popup(page):
    assert TAG.render(Context({})) == ""
    assert render(page()) == ""


def test_never_raises_into_the_page(page, monkeypatch, caplog):
    PopupFactory()

    def broken():
        raise RuntimeError("cache is down")

    monkeypatch.setattr("omnichannel.popups.loader.live_popups", broken)
    assert render(page()) == ""
    assert "cache is down" in caplog.text


def test_writes_the_config_and_a_snippet_that_fetches_the_loader(page):
    popup = PopupFactory(delay_seconds=0)
    variant = popup.variants.get()
    html = render(page())
    data = config(html)
    assert data["popups"][0]["id"] == str(popup.uuid)
    assert data["popups"][0]["on"]["delay"] == 0 and data["popups"][0]["on"]["exit"] is True
    assert data["popups"][0]["variants"] == [{"id": str(variant.uuid), "w": 1}]
    assert data["content"] == reverse("omnichannel:popup-content", args=["VARIANT"])
    assert '"/static/omnichannel/loader.js"' in html and "requestIdleCallback" in html
    # The markup is not in the page: it comes with the popup, on the trigger.
    assert "role=" not in html and "<template" not in html
    # Nothing that blocks rendering: no external script or stylesheet in the page.
    assert "<script src" not in html and "<link" not in html


def test_the_nonce_goes_on_the_inline_script(page):
    from omnichannel.popups.loader import render_popups

    PopupFactory()
    html = render_popups(page(), nonce="n0nce")
    assert '<script nonce="n0nce">' in html and 's.nonce="n0nce";' in html
    assert "nonce" not in render_popups(page())


class TestContent:
    """The variant's markup, fetched by the loader when the popup opens."""

    def test_gives_the_markup_and_the_api(self, client):
        popup = PopupFactory()
        variant = popup.variants.get()
        response = client.get(reverse("omnichannel:popup-content", args=[variant.uuid]))
        assert response.status_code == 200
        answer = response.json()
        assert 'role="dialog"' in answer["markup"] and "aria-labelledby" in answer["markup"]
        assert "Get 10 % off your first order" in answer["markup"]
        assert answer["api"]["subscribe"] == reverse("omnichannel:popup-subscribe")
        assert answer["sw"] == reverse("omnichannel:service_worker")
        assert "public" in response["Cache-Control"] and "max-age=300" in response["Cache-Control"]
        assert "Cookie" not in response.get("Vary", "")

    def test_staff_text_is_escaped(self, client):
        popup = PopupFactory(variants=[{"headline": "<img src=x onerror=alert(1)>"}])
        url = reverse("omnichannel:popup-content", args=[popup.variants.get().uuid])
        markup = client.get(url).json()["markup"]
        assert "<img src=x" not in markup and "&lt;img src=x" in markup

    @pytest.mark.parametrize("variant", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
    def test_unknown_variants_are_404(self, client, variant):
        PopupFactory()
        response = client.get(reverse("omnichannel:popup-content", args=[variant]))
        assert response.status_code == 404
        assert response.json() == {"detail": "No live popup has this variant."}

    def test_a_paused_popup_gives_nothing(self, client):
        popup = PopupFactory(status="paused")
        url = reverse("omnichannel:popup-content", args=[popup.variants.get().uuid])
        assert client.get(url).status_code == 404

    def test_only_get(self, client):
        popup = PopupFactory()
        url = reverse("omnichannel:popup-content", args=[popup.variants.get().uuid])
        assert client.post(url).status_code == 405


def test_zero_queries_on_a_warm_cache(page):
    PopupFactory()
    render(page())  # fills the cache
    request = page()
    with CaptureQueriesContext(connection) as queries:
        html = render(request)
    assert html and len(queries) == 0, queries.captured_queries


def test_saving_a_popup_refreshes_the_cache(page, django_capture_on_commit_callbacks):
    popup = PopupFactory()
    assert shown_ids(render(page()))
    with django_capture_on_commit_callbacks(execute=True):
        popup.status = "paused"
        popup.save()
    assert render(page()) == ""
    with django_capture_on_commit_callbacks(execute=True):
        popup.status = "active"
        popup.save()
        popup.variants.update(headline="Changed")  # no signal; the next save clears it
        popup.variants.get().save()
    assert render(page())
    assert "Changed" in live_markup(str(popup.variants.get().uuid))


def test_priority_orders_the_popups(page):
    low = PopupFactory(priority=1)
    high = PopupFactory(priority=5)
    assert shown_ids(render(page())) == [str(high.uuid), str(low.uuid)]


class TestTargeting:
    def test_pages(self, page):
        popup = PopupFactory(url_include="/products/*", url_exclude="/products/secret/")
        assert shown_ids(render(page("/products/mug/"))) == [str(popup.uuid)]
        assert shown_ids(render(page("/products/secret/"))) == []
        assert shown_ids(render(page("/cart/"))) == []

    def test_schedule(self, page):
        from datetime import timedelta

        from django.utils import timezone

        now = timezone.now()
        PopupFactory(starts_at=now + timedelta(hours=1))
        PopupFactory(ends_at=now - timedelta(seconds=1))
        current = PopupFactory(starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1))
        assert shown_ids(render(page())) == [str(current.uuid)]

    def test_device(self, page):
        mobile = PopupFactory(device="mobile")
        desktop = PopupFactory(device="desktop")
        iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
        assert shown_ids(render(page(HTTP_USER_AGENT=iphone))) == [str(mobile.uuid)]
        assert shown_ids(render(page(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux)"))) == [
            str(desktop.uuid)
        ]

    def test_customers_and_subscribers(self, page, customer):
        hidden = PopupFactory(hide_from_customers=True, hide_from_subscribers=True)
        shown = PopupFactory(hide_from_customers=False, hide_from_subscribers=False)
        request = page()
        request.user = customer
        assert shown_ids(render(request)) == [str(shown.uuid)]
        request = page()
        request.session["omnichannel"] = {"subscribed": True}
        assert shown_ids(render(request)) == [str(shown.uuid)]
        assert str(hidden.uuid) in shown_ids(render(page()))

    def test_cart_value_and_contents(self, page):
        popup = PopupFactory(min_cart_value=Decimal("50"), cart_contains="MUG, 7")
        request = page()
        assert shown_ids(render(request)) == []
        request.session["omnichannel"] = {"cart": {"value": "60.00", "items": ["3", "MUG"]}}
        assert shown_ids(render(request)) == [str(popup.uuid)]
        request.session["omnichannel"] = {"cart": {"value": "40.00", "items": ["MUG"]}}
        assert shown_ids(render(request)) == []

    def test_country(self, page, settings):
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "COUNTRY_HEADER": "HTTP_CF_IPCOUNTRY"}
        popup = PopupFactory(countries="FR, be")
        assert shown_ids(render(page(HTTP_CF_IPCOUNTRY="BE"))) == [str(popup.uuid)]
        assert shown_ids(render(page(HTTP_CF_IPCOUNTRY="US"))) == []
        assert shown_ids(render(page())) == []

    def test_language_picks_the_variants(self, page):
        from django.utils import translation

        popup = PopupFactory(
            variants=[{"name": "A"}, {"name": "B", "weight": 3}, {"name": "A", "locale": "fr"}]
        )
        french = popup.variants.get(locale="fr")
        html = render(page())
        assert [v["w"] for v in config(html)["popups"][0]["variants"]] == [1, 3]
        with translation.override("fr-be"):
            html = render(page())
        assert [v["id"] for v in config(html)["popups"][0]["variants"]] == [str(french.uuid)]

    def test_browser_side_rules_go_to_the_loader(self, page):
        PopupFactory(visitors="returning", utm="utm_source=news, utm_medium=mail", min_page_views=2)
        PopupFactory(hide_from_subscribers=False, priority=-1)
        rules, for_everyone = config(render(page()))["popups"]
        assert rules["hideSubs"] is True and "hideSubs" not in for_everyone
        assert for_everyone["dwell"] == 5
        PopupFactory(min_seconds_on_page=0, hide_days_after_close=0, priority=-2)
        cache.clear()  # saved inside the test's transaction: no on-commit clearing
        no_minimums = config(render(page()))["popups"][2]
        assert (no_minimums["dwell"], no_minimums["hideDays"]) == (0, 0)
        assert (rules["visitors"], rules["utm"], rules["pages"]) == (
            "returning",
            ["utm_source=news", "utm_medium=mail"],
            2,
        )


def test_sample_shop_page_costs_no_query_more_with_the_tag(client, monkeypatch):
    """The same page, with the tag and with it switched off: equal query counts."""
    PopupFactory()
    Product.objects.create(name="Mug", slug="mug", price=Decimal("12.50"))
    url = reverse("shop:product_list")
    assert b"omnichannel-popups" in client.get(url).content  # warms the cache

    with CaptureQueriesContext(connection) as with_tag:
        client.get(url)
    monkeypatch.setattr("omnichannel.templatetags.omnichannel.render_popups", lambda *a, **k: "")
    with CaptureQueriesContext(connection) as without_tag:
        assert b"omnichannel-popups" not in client.get(url).content
    assert len(with_tag) == len(without_tag)


def test_demo_data_creates_one_live_popup_idempotently(client, settings):
    from django.core.management import call_command

    settings.DEBUG = True
    for _ in range(2):
        call_command("load_demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115
    from omnichannel.models import Popup

    popup = Popup.objects.get()
    assert popup.is_live() and popup.gives_code and popup.collect_phone
    variant = config(client.get(reverse("shop:product_list")).content.decode())["popups"][0]
    url = reverse("omnichannel:popup-content", args=[variant["variants"][0]["id"]])
    assert "Before you go" in client.get(url).json()["markup"]
