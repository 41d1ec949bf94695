"""The popup's byte budgets: what the tag writes into every page, the loader fetched when
the browser is idle, and the bundle fetched on the trigger."""

import gzip
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from omnichannel.testing.factories import PopupFactory
from sample_shop.shop.models import Product

STATIC = Path(__file__).resolve().parents[2] / "omnichannel" / "static" / "omnichannel"
TAG_START = '<script id="omnichannel-popups"'


def gzipped(data):
    return len(gzip.compress(data.encode() if isinstance(data, str) else data, compresslevel=9))


def inline_part(page):
    """What the tag wrote into ``page``: from its configuration to its last script."""
    start = page.index(TAG_START)
    return page[start : page.index("</script>", page.index("<script>", start)) + len("</script>")]


@pytest.mark.django_db
def test_the_inline_part_is_at_most_2_kb_uncompressed(client):
    call_command("load_demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115
    # A second popup with every browser-side rule set, so the budget holds beyond the demo.
    PopupFactory(
        priority=-1,
        on_scroll_up=True,
        on_tab_return=True,
        on_back_button=True,
        inactivity_seconds=30,
        delay_seconds=10,
        scroll_percent=50,
        click_selector=".newsletter-button",
        min_page_views=2,
        visitors="returning",
        referrer_contains="newsletter",
        utm="utm_source=news, utm_medium=mail",
        variants=[{"name": "A"}, {"name": "B", "weight": 3}],
    )
    product = Product.objects.order_by("pk").first() or Product.objects.create(
        name="Mug", slug="mug", price=Decimal("12.50")
    )
    page = client.get(reverse("shop:product_detail", args=[product.slug])).content.decode()
    tag = inline_part(page)
    assert tag.count('"id"') >= 5  # both popups and their three variants are in it
    assert len(tag.encode()) <= 2048, tag


def test_the_loader_is_at_most_3_kb_gzipped():
    # Fetched once the browser is idle, then cached; it keeps its comments.
    assert gzipped((STATIC / "loader.js").read_bytes()) <= 3 * 1024


def test_popup_bundle_is_at_most_10_kb_gzipped():
    bundle = (STATIC / "popup.js").read_bytes() + (STATIC / "popup.css").read_bytes()
    assert gzipped(bundle) <= 10 * 1024


def test_no_framework_and_no_third_party_requests():
    for name in ("loader.js", "popup.js", "popup.css"):
        source = (STATIC / name).read_text()
        assert not re.search(r"https?://", source), f"{name} names an outside URL"
        assert "import " not in source and "require(" not in source
