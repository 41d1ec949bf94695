"""The browser tier: headless Chromium (Debian's package) against the sample shop.

``tests/run browser`` runs it. Without Chromium the tests skip with a hint, except under
CI (``CI=true``), where a missing browser fails them. Screenshots go to test-artifacts/.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    if shutil.which(CHROMIUM) or os.environ.get("CI") == "true":
        return
    skip = pytest.mark.skip(
        reason=f"browser tier: no Chromium at {CHROMIUM} (apt-get install chromium)"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def chromium():
    # Playwright's sync API runs an event loop in this thread; the test's own database
    # calls are synchronous and safe, so tell Django not to refuse them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield playwright, browser
        browser.close()


@pytest.fixture
def open_page(chromium, request):
    """``open_page(**context_options)``: a page in a fresh browser profile.

    Each page is screenshotted into test-artifacts/ when the test ends.
    """
    playwright, browser = chromium
    contexts = []

    def make(**options):
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    for number, context in enumerate(contexts):
        for page in context.pages:
            page.screenshot(path=str(ARTIFACTS / f"{name}-{number}.png"), full_page=False)
        context.close()


@pytest.fixture
def iphone(chromium):
    playwright, _browser = chromium
    return playwright.devices["iPhone 13"]


@pytest.fixture
def staff_page(open_page, live_server):
    """A page signed in to the admin as a superuser (tests using it need
    ``django_db(transaction=True)``: the live server reads the user from its own thread)."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    get_user_model().objects.create_superuser("staff", "staff@example.com", "pw-123456")
    page = open_page(viewport={"width": 1280, "height": 1600})
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", "staff")
    page.fill("#id_password", "pw-123456")
    page.click("input[type=submit]")
    return page
