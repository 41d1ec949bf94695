"""A product page in a real browser: its view is recorded, its price alert form works."""

from decimal import Decimal

import pytest
from django.urls import reverse

from omnichannel.models import ProductAlert, ProductView
from sample_shop.shop.models import Product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mug():
    from django.core.cache import cache

    cache.clear()  # the rate-limit counters
    return Product.objects.create(name="Mug", slug="mug", price=Decimal("12.50"))


def test_a_visit_is_recorded_and_the_price_alert_is_requested(open_page, live_server, mug):
    page = open_page()
    page.goto(live_server.url + reverse("shop:product_detail", args=[mug.slug]))
    view = ProductView.objects.get()  # written once the response had gone
    assert (view.name, view.price, view.contact) == ("Mug", Decimal("12.50"), None)
    page.get_by_label("Tell me when the price drops").fill("ann@example.com")
    page.get_by_role("button", name="Notify me").click()
    page.get_by_text("Done: we will email you.").wait_for()
    alert = ProductAlert.objects.get()
    assert (alert.contact.email, alert.product_id, alert.kind) == (
        "ann@example.com",
        str(mug.pk),
        "price_drop",
    )
    # The form's visitor is now known: the view joined the contact.
    view.refresh_from_db()
    assert view.contact == alert.contact


def test_a_bad_address_is_refused_with_a_message(open_page, live_server, mug):
    page = open_page()
    page.goto(live_server.url + reverse("shop:product_detail", args=[mug.slug]))
    # The browser's own check passes "a@b"; the endpoint's does not.
    page.get_by_label("Tell me when the price drops").fill("a@b")
    page.get_by_role("button", name="Notify me").click()
    page.get_by_text("Please check the address and try again.").wait_for()
    assert not ProductAlert.objects.exists()
