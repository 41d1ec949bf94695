"""The marketing home after the demo's scenario, in a real browser: a guest leaves a cart,
the shipped cart recovery reminds her, she comes back and orders; the page shows that
order credited to the cart recovery, at desktop and phone widths."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from omnichannel.carts.recovery import detect_abandoned
from omnichannel.conf import omnichannel_settings
from omnichannel.flows.defaults import install_defaults
from omnichannel.flows.engine import advance_due
from omnichannel.models import CartSnapshot, Enrollment, Flow, TrackedOrder
from omnichannel.outbox.dispatch import dispatch_batch
from sample_shop.shop.models import Product

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def a_recovered_cart():
    """The demo's cart recovery, through the shop's own pages: returns the order."""
    install_defaults(activate=True)
    Flow.objects.update(activated_at=timezone.now() - timedelta(days=1))
    mug = Product.objects.create(name="Mug", slug="mug", price=Decimal("12.50"), sku="MUG")
    guest = Client()
    guest.post(reverse("shop:cart_add", args=[mug.pk]), {"quantity": 2})
    guest.post(
        reverse("shop:checkout"),
        {"name": "Ann Smith", "email": "ann@example.com", "phone": "", "email_offers": "on"},
    )
    idle = timedelta(minutes=omnichannel_settings.CART_IDLE_MINUTES)
    CartSnapshot.objects.update(last_activity_at=timezone.now() - idle - timedelta(minutes=1))
    assert detect_abandoned().enrolled == 1
    due = Enrollment.objects.get().next_step_at
    advance_due(now=due)
    assert dispatch_batch("demo", now=due).sent == 1
    response = guest.post(reverse("shop:checkout_payment"), {"payment_method": "card"})
    assert response.status_code == 302
    return TrackedOrder.objects.get()


def test_the_marketing_home_credits_the_recovered_cart(staff_page, live_server):
    order = a_recovered_cart()
    assert order.attributed_flow.slug == "cart-recovery"
    page = staff_page
    page.goto(live_server.url + reverse("admin:omnichannel_marketingresults_changelist"))
    per_flow = page.locator("table", has=page.locator("caption", has_text="Revenue per flow"))
    row = per_flow.locator("tbody tr").first
    assert row.locator("th").inner_text() == order.attributed_flow.name
    assert row.locator("td").all_inner_texts()[0] == "1"
    assert "25.00" in row.locator("td").all_inner_texts()[1]
    messages = page.locator("table", has=page.locator("caption", has_text="Messages"))
    assert "Sent" in messages.inner_text()
    # The model the figures follow is stated on the page.
    assert "last click" in page.locator("body").inner_text()
    assert page.locator("svg").count() >= 3  # the trend charts

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "marketing-home-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    # Readable on a phone: the page does not scroll sideways, the charts shrink to fit.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for width in page.locator("svg").evaluate_all(
        "svgs => svgs.map(s => s.getBoundingClientRect().width)"
    ):
        assert width <= 390
    page.screenshot(path=str(ARTIFACTS / "marketing-home-phone.png"), full_page=True)
