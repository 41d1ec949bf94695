"""Fixtures for popup tests: a popup, and a client that talks to the API as popup.js does."""

import json
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from omnichannel.testing.factories import PopupFactory

ORIGIN = "http://testserver"


@pytest.fixture(autouse=True)
def _empty_cache():
    # The popup configuration and the rate-limit counters live in the cache.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def fast_forms(settings):
    """Forms may be sent at once (the minimum time has its own test)."""
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "POPUP_MIN_SUBMIT_SECONDS": 0}


@pytest.fixture
def popup(db):
    return PopupFactory(gift="percent", discount_value=Decimal("10"), code_prefix="WELCOME")


class PopupAPI:
    """Calls the popup API like popup.js: JSON, from the shop's own origin."""

    def __init__(self, client, run_on_commit):
        self.client = client
        self.run_on_commit = run_on_commit

    def post(self, name, body, **headers):
        headers.setdefault("HTTP_ORIGIN", ORIGIN)
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        with self.run_on_commit(execute=True):
            return self.client.post(
                reverse(f"omnichannel:{name}"),
                data=data,
                content_type=headers.pop("content_type", "application/json"),
                **headers,
            )

    def show(self, variant):
        response = self.post(
            "popup-events",
            {"popup": str(variant.popup.uuid), "variant": str(variant.uuid), "kind": "impression"},
        )
        assert response.status_code == 201, response.content
        return response.json()["token"]

    def subscribe(self, variant, token=None, **fields):
        """Show ``variant``, then send its form; upper-case keywords are request headers."""
        headers = {name: value for name, value in fields.items() if name.isupper()}
        body = {
            "popup": str(variant.popup.uuid),
            "variant": str(variant.uuid),
            "token": token if token is not None else self.show(variant),
            **{name: value for name, value in fields.items() if not name.isupper()},
        }
        return self.post("popup-subscribe", body, **headers)


@pytest.fixture
def api(client, django_capture_on_commit_callbacks):
    return PopupAPI(client, django_capture_on_commit_callbacks)


@pytest.fixture
def subscribed(django_capture_on_commit_callbacks):
    """The ``popup_subscribed`` calls, as a list of their keyword arguments."""
    from omnichannel import signals

    calls = []

    def receiver(**kwargs):
        calls.append(kwargs)

    signals.popup_subscribed.connect(receiver, weak=False, dispatch_uid="tests.subscribed")
    yield calls
    signals.popup_subscribed.disconnect(dispatch_uid="tests.subscribed")
