"""Advancing a batch: the same statements whatever its size, and the shop asked once.

Steps with an offer code, the best channel and recommendations used to cost statements per
enrollment (a code insert each, a recommendation read each, two policy reads each); the
engine now reads the batch's facts once and asks the adapter's batch hooks once.
"""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from omnichannel.flows.engine import advance_due, enroll
from omnichannel.integrations.adapter import CartLine, DiscountSpec, get_adapter
from omnichannel.integrations.adapter import Product as ShopProduct
from omnichannel.models import Message, StepContent
from omnichannel.testing import FakeAdapter
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory
from sample_shop.shop.models import DiscountCode, Product
from sample_shop.shop.omnichannel_adapter import SampleShopAdapter

from ..conftest import LOCMEM
from .conftest import make_flow

pytestmark = pytest.mark.django_db


@pytest.fixture
def channels(settings):
    settings.OMNICHANNEL = {
        **settings.OMNICHANNEL,
        "CHANNEL_BACKENDS": dict.fromkeys(("email", "sms", "push"), LOCMEM),
    }


@pytest.fixture
def products():
    return [
        Product.objects.create(name=f"Product {i}", slug=f"p{i}", price=Decimal("9.90"))
        for i in range(4)
    ]


def gift_flow(slug="gift"):
    """A one-step flow asking for everything: best channel, an offer, recommendations."""
    flow = make_flow(slug=slug, steps=[("Gift", timedelta(0), "best")])
    flow.steps.update(offer_kind="percent", offer_value=Decimal("10"), offer_prefix="GIFT")
    StepContent.objects.filter(step__flow=flow).update(text="Also: {{ recommendations }}")
    return flow


PHONES = itertools.count(12_000_000)


def enrol(flow, count, tag):
    for i in range(count):
        contact = ContactFactory(phone=f"+336{next(PHONES)}", consents=["email", "sms"])
        enroll(flow, contact, trigger_key=f"{tag}:{i}")


def statements_for_a_batch(settings, flow, size, tag):
    enrol(flow, size, tag)
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "FLOW_BATCH_SIZE": size}
    with CaptureQueriesContext(connection) as captured:
        report = advance_due(now=timezone.now() + timedelta(seconds=1))
    assert (report.claimed, report.queued) == (size, size)
    return len(captured)


def test_statements_per_batch_do_not_grow_with_its_size(settings, channels, products):
    flow = gift_flow()
    small = statements_for_a_batch(settings, flow, 3, "small")
    large = statements_for_a_batch(settings, flow, 12, "large")
    assert small == large
    messages = list(Message.objects.all())
    assert len(messages) == 15 and {m.channel for m in messages} == {"email"}
    codes = {m.context["discount"]["code"] for m in messages}
    assert len(codes) == 15 and all(code.startswith("GIFT") for code in codes)
    assert DiscountCode.objects.filter(code__in=codes).count() == 15
    assert all(len(m.context["recommendations"]) == 3 for m in messages)


def test_a_cart_flow_costs_the_same_at_two_sizes(settings, channels, products):
    flow = gift_flow()
    flow.kind = "cart_recovery"
    flow.save()
    counts = []
    for size, tag in ((2, "a"), (9, "b")):
        for i in range(size):
            contact = ContactFactory(consents=["email"])
            cart = CartSnapshotFactory(
                contact=contact, last_activity_at=timezone.now() - timedelta(hours=2)
            )
            enroll(flow, contact, trigger_key=f"cart:{tag}{i}", cart=cart)
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "FLOW_BATCH_SIZE": size}
        with CaptureQueriesContext(connection) as captured:
            assert advance_due().queued == size
        counts.append(len(captured))
    assert counts[0] == counts[1]
    assert all(m.context["cart"]["restore_url"] for m in Message.objects.all())


class PerItemAdapter(FakeAdapter):
    """A shop that only implements the per-item methods, counting the calls."""

    def __init__(self):
        self.codes_asked, self.recommendations_asked = [], []

    def create_discount_code(self, contact, spec):
        self.codes_asked.append(contact.email)
        return f"{spec.prefix}-{len(self.codes_asked)}"

    def get_recommendations(self, contact, cart_lines, limit=3):
        self.recommendations_asked.append((contact.email, limit))
        return [ShopProduct(product_id="7", name=f"For {contact.email}", url="/p/7/")]


def test_the_batch_hooks_default_to_the_per_item_methods():
    adapter = PerItemAdapter()
    ann, bob = ContactFactory(), ContactFactory()
    spec = DiscountSpec(kind="percent", value=Decimal("5"), expires_at=timezone.now(), prefix="P")
    assert adapter.create_discount_codes([(ann, spec), (bob, spec)]) == ["P-1", "P-2"]
    assert adapter.codes_asked == [ann.email, bob.email]
    answers = adapter.recommendations_for([(ann, []), (bob, [])], limit=2)
    assert [products[0].name for products in answers] == [f"For {ann.email}", f"For {bob.email}"]
    assert adapter.recommendations_asked == [(ann.email, 2), (bob.email, 2)]


def test_an_adapter_with_only_per_item_methods_still_advances(settings, channels):
    settings.OMNICHANNEL = {
        **settings.OMNICHANNEL,
        "SHOP_ADAPTER": "tests.flows.test_batch_advance.PerItemAdapter",
    }
    adapter = get_adapter()
    adapter.codes_asked.clear()
    enrol(gift_flow(), 3, "k")
    assert advance_due().queued == 3
    assert len(adapter.codes_asked) == 3
    contexts = [m.context for m in Message.objects.order_by("id")]
    assert sorted(c["discount"]["code"] for c in contexts) == ["GIFT-1", "GIFT-2", "GIFT-3"]
    assert all(c["recommendations"][0]["url"] == "/p/7/" for c in contexts)


class ShortAdapter(SampleShopAdapter):
    def create_discount_codes(self, entries):
        return ["ONLY-ONE"]


def test_an_adapter_answering_for_fewer_entries_is_a_clear_error(settings, channels):
    settings.OMNICHANNEL = {
        **settings.OMNICHANNEL,
        "SHOP_ADAPTER": "tests.flows.test_batch_advance.ShortAdapter",
    }
    enrol(gift_flow(), 2, "k")
    with pytest.raises(ValueError, match="returned 1 codes for 2 entries"):
        advance_due()
    assert not Message.objects.exists()


def test_the_sample_shop_makes_unique_codes_bound_to_each_contact():
    ann, bob = ContactFactory(), ContactFactory()
    expires = timezone.now() + timedelta(days=2)
    spec = DiscountSpec(kind="percent", value=Decimal("10"), expires_at=expires, prefix="w")
    codes = SampleShopAdapter().create_discount_codes([(ann, spec), (bob, spec)])
    assert len(set(codes)) == 2 and all(code.startswith("W") for code in codes)
    assert dict(DiscountCode.objects.values_list("code", "email")) == dict(
        zip(codes, [ann.email, bob.email], strict=True)
    )


def test_the_sample_shop_never_recommends_what_is_in_the_cart(products):
    newest = products[-1]
    in_cart = [CartLine(product_id=str(newest.pk), name="P", quantity=1, unit_price=Decimal(1))]
    ann = ContactFactory()
    with_cart, without = SampleShopAdapter().recommendations_for([(ann, in_cart), (ann, [])])
    assert str(newest.pk) not in [p.product_id for p in with_cart] and len(with_cart) == 3
    assert without[0].product_id == str(newest.pk)
