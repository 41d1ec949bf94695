"""Fixtures shared by the whole suite."""

import os
import shutil
import socket

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation

from omnichannel.conf import omnichannel_settings
from omnichannel.testing import LOCMEM_BACKENDS, clear_sent, sent
from omnichannel.testing.factories import ContactFactory


def pytest_collection_modifyitems(config, items):
    """Services-tier tests need PostgreSQL and a Redis: ``tests/run services`` sets them up.

    The Redis is ``TEST_BROKER_URL`` when given, else a redis-server the tier starts itself.
    Outside CI a plain ``pytest`` skips them with that hint; under CI they never skip.
    """
    on_postgresql = os.environ.get("DATABASE_URL", "").startswith("postgres")
    broker = os.environ.get("TEST_BROKER_URL") or shutil.which("redis-server")
    if (on_postgresql and broker) or os.environ.get("CI") == "true":
        return
    skip = pytest.mark.skip(reason="services tier: run `tests/run services`")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_settings():
    # A test that changed OMNICHANNEL through override_settings leaves nothing cached.
    yield
    omnichannel_settings.reload()


@pytest.fixture(autouse=True)
def _default_language():
    # LocaleMiddleware leaves the last request's language active in the thread: a test
    # that asked for French pages must not make the next one read French messages.
    yield
    translation.deactivate()


@pytest.fixture
def contact(db):
    return ContactFactory()


@pytest.fixture
def customer(db):
    return get_user_model().objects.create_user("ann", "Ann@Example.com", "pw-123456")


LOCMEM = "omnichannel.channels.locmem.LocmemBackend"


@pytest.fixture
def locmem_channels(settings):
    """Every channel on the in-memory backend; yields its outbox, emptied."""
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "CHANNEL_BACKENDS": LOCMEM_BACKENDS}
    clear_sent()
    yield sent
    clear_sent()


@pytest.fixture
def no_network(monkeypatch):
    """Fail any attempt to open a network connection (loopback databases excepted)."""
    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1")):
            return real_connect(sock, address)
        if sock.family == socket.AF_UNIX:
            return real_connect(sock, address)
        raise AssertionError(f"network I/O attempted to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


@pytest.fixture
def during_send(settings):
    """Email on the ``DuringSend`` backend (tests/during_send.py); yields the class, whose
    ``hook`` runs inside each provider call. The hook and the outbox are reset after."""
    from omnichannel.channels import locmem

    from .during_send import DuringSend

    settings.OMNICHANNEL = {
        **settings.OMNICHANNEL,
        "CHANNEL_BACKENDS": {"email": "tests.during_send.DuringSend"},
    }
    locmem.clear()
    yield DuringSend
    DuringSend.hook = None
    locmem.clear()
