"""The README's integrator code, executed as written: every settings snippet, the URLs,
the Celery app, and the hand-written shop's adapter driven through the real bridge.
The django-oscar settings are run by the oscar tier (tests/oscar/test_readme_oscar.py),
where Oscar is installed."""

import os
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import import_module

import pytest
from celery import _state as celery_state
from django.conf import settings
from django.test import override_settings
from django.urls import URLResolver, include, path

from omnichannel.conf import OmnichannelSettings
from omnichannel.core.links import restore_url
from omnichannel.integrations import ShopAdapter, track_cart, track_order
from omnichannel.models import CartSnapshot, TrackedOrder

from .readme import copied

OSCAR_SECTION = "django-oscar"
PACKAGE_FILES = ("myshop/omnichannel_adapter.py", "myshop/celery.py", "myshop/__init__.py")


def test_the_copied_blocks_are_the_ones_tested():
    paths = {block.path for block in copied()}
    assert {"settings.py", "urls.py", *PACKAGE_FILES} <= paths
    assert paths <= {"settings.py", "urls.py", "forms.py", *PACKAGE_FILES}


@pytest.mark.parametrize(
    "block",
    [b for b in copied() if b.path == "settings.py" and b.section != OSCAR_SECTION],
    ids=lambda block: block.section,
)
def test_settings_snippets_run_and_name_real_settings_and_apps(block, monkeypatch):
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        monkeypatch.setenv(name, "from-the-environment")
    namespace = {"os": os}
    exec(block.code, namespace)
    with override_settings(OMNICHANNEL=namespace.get("OMNICHANNEL", {})):
        assert OmnichannelSettings().problems() == []
    for app in namespace.get("INSTALLED_APPS", []):
        import_module(app)


def test_the_urls_include_the_apps_urls():
    (block,) = [b for b in copied() if b.path == "urls.py"]
    namespace = {}
    exec(block.code, namespace)
    (resolver,) = namespace["urlpatterns"]
    assert isinstance(resolver, URLResolver) and resolver.urlconf_module.__name__ == (
        "omnichannel.urls"
    )


@pytest.fixture
def myshop(tmp_path, monkeypatch):
    """The README's files written out as the package ``myshop`` and imported."""
    package = tmp_path / "myshop"
    package.mkdir()
    for block in copied():
        if block.path in PACKAGE_FILES:
            (tmp_path / block.path).write_text(block.code)
    monkeypatch.syspath_prepend(str(tmp_path))
    previous_app = celery_state.get_current_app()
    yield import_module("myshop")
    previous_app.set_current()
    for name in [n for n in sys.modules if n == "myshop" or n.startswith("myshop.")]:
        del sys.modules[name]


def test_the_celery_app_reads_the_django_settings(myshop):
    app = myshop.celery_app
    assert app.main == "myshop"
    assert app.conf.broker_url == settings.CELERY_BROKER_URL


# --- the hand-written shop the adapter example reads ------------------------------------


@dataclass
class Product:
    pk: int
    name: str
    sku: str

    def get_absolute_url(self):
        return f"/products/{self.pk}/"


@dataclass
class Line:
    product: Product
    quantity: int
    unit_price: Decimal


class Lines(list):
    def all(self):
        return self


@dataclass
class Cart:
    pk: int
    lines: Lines = field(default_factory=Lines)
    currency: str | None = None
    checkout_email: str = ""

    def add(self, product_id, quantity):
        product = Product(int(product_id), "Mug", "MUG")
        self.lines.append(Line(product, quantity, Decimal("12.50")))


@dataclass
class Order:
    number: str
    total: Decimal
    cart_id: int
    currency: str = "EUR"
    status: str = "paid"
    email: str = "ann@example.com"
    user: object = None
    placed_at: object = None


class CartMiddleware:
    """The shop's own middleware: every request has its cart (a fresh one, here)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.cart = Cart(pk=77)
        return self.get_response(request)


urlpatterns = [
    path("omnichannel/", include("omnichannel.urls")),
    path("cart/", lambda request: None, name="cart"),
]


@pytest.mark.django_db
def test_the_adapter_example_works_through_the_bridge(
    myshop, settings, client, django_capture_on_commit_callbacks
):
    from myshop.omnichannel_adapter import Adapter

    assert issubclass(Adapter, ShopAdapter)
    settings.ROOT_URLCONF = __name__
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.CartMiddleware"]
    settings.OMNICHANNEL = {
        **settings.OMNICHANNEL,
        "SHOP_ADAPTER": "myshop.omnichannel_adapter.Adapter",
    }
    cart = Cart(pk=5, checkout_email="ann@example.com")
    cart.add(3, 2)
    with django_capture_on_commit_callbacks(execute=True):
        track_cart(cart)
    snapshot = CartSnapshot.objects.get(cart_key="5")
    assert (snapshot.item_count, snapshot.value, snapshot.currency) == (2, Decimal("25"), "EUR")
    assert snapshot.contact.email == "ann@example.com" and snapshot.checkout_started_at

    # The restore link rebuilds the lines in another browser's cart, which it follows.
    response = client.get(
        restore_url(snapshot).removeprefix(settings.OMNICHANNEL["PUBLIC_BASE_URL"])
    )
    assert (response.status_code, response["Location"]) == (302, "/cart/")
    snapshot.refresh_from_db()
    assert snapshot.cart_key == "77"

    with django_capture_on_commit_callbacks(execute=True):
        track_order(Order(number="A-1", total=Decimal("25"), cart_id=77))
    snapshot.refresh_from_db()
    assert TrackedOrder.objects.get().order_key == "A-1" and snapshot.status == "converted"
