"""A step's contents in the browser: one editor per channel, and an SMS counter that
agrees with the Python count the flow's validation and the dispatcher use."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from omnichannel.channels.sms_segments import segments
from omnichannel.models import ChannelCost
from tests.flows.conftest import make_flow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Around each limit, in both alphabets: GSM 160 / 153, an extended character counting two,
# UCS-2 70 / 67, an emoji counting two UTF-16 units, line breaks, and a lone accent.
TEXTS = [
    "",
    "Hello",
    "a" * 160,
    "a" * 161,
    "a" * 306,
    "a" * 307,
    "€" * 80,
    "€" * 81,
    "[offer] {code} ~ ^ | \\",
    "é" * 160,
    "ê",
    "ü" * 70 + "ê",
    "ê" * 70,
    "ê" * 71,
    "ê" * 134,
    "ê" * 135,
    "😀" * 35,
    "😀" * 36,
    "Line one\nLine two\n",
    "Привет, корзина ждёт",
    "Grüße aus Köln: 10 % Rabatt",
    "Ahoj, váš košík čaká",
]


def open_sms_editor(page, live_server):
    step = make_flow(steps=[("Nudge", timedelta(0), "sms")], status="draft").steps.get()
    step.contents.update(text="Your cart is waiting")
    page.goto(live_server.url + reverse("admin:omnichannel_step_change", args=[step.pk]))
    return step


def test_sms_step_editor_shows_only_the_sms_fields(staff_page, live_server):
    page = staff_page
    open_sms_editor(page, live_server)
    content = page.locator("#contents-0")
    assert content.get_attribute("data-channel") == "sms"
    assert content.locator("#id_contents-0-text").is_visible()
    assert content.locator(".oc-sms-counter").is_visible()
    for hidden in ("subject", "preheader", "html", "title", "body", "icon", "content_sid"):
        assert not content.locator(f"#id_contents-0-{hidden}").is_visible(), hidden

    page.select_option("#id_contents-0-channel", "push")
    for shown in ("title", "body", "url", "icon"):
        assert content.locator(f"#id_contents-0-{shown}").is_visible(), shown
    assert not content.locator("#id_contents-0-text").is_visible()
    page.select_option("#id_contents-0-channel", "whatsapp")
    assert content.locator("#id_contents-0-content_sid").is_visible()
    assert content.locator("#id_contents-0-variables").is_visible()
    assert not content.locator(".oc-sms-counter").is_visible()
    page.select_option("#id_contents-0-channel", "email")
    for shown in ("subject", "preheader", "text", "html"):
        assert content.locator(f"#id_contents-0-{shown}").is_visible(), shown
    assert not content.locator("#id_contents-0-icon").is_visible()


def test_a_content_added_later_follows_its_channel_too(staff_page, live_server):
    page = staff_page
    open_sms_editor(page, live_server)
    page.locator("#contents-group .add-row a").click()
    added = page.locator("#contents-1")
    page.select_option("#id_contents-1-channel", "inbox")
    assert added.get_attribute("data-channel") == "inbox"
    assert added.locator("#id_contents-1-title").is_visible()
    assert not added.locator("#id_contents-1-icon").is_visible()


def test_the_sms_counter_updates_while_typing_with_its_cost(staff_page, live_server):
    ChannelCost.objects.create(channel="sms", country="", amount=Decimal("0.075"), currency="EUR")
    page = staff_page
    open_sms_editor(page, live_server)
    counter = page.locator("#contents-0 .oc-sms-counter")
    assert counter.inner_text().startswith("Segments: 1 · characters: 20 · GSM alphabet")
    text = page.locator("#id_contents-0-text")
    text.fill("")
    text.press_sequentially("Hi 😀")
    assert "Segments: 1 · characters: 5 · Unicode, because of “😀”" in counter.inner_text()
    text.fill("a" * 161)
    assert counter.inner_text().startswith("Segments: 2 · characters: 161")
    assert "Estimated cost per message: €0.15 (any country)" in counter.inner_text()
    text.fill("a" * 307)
    assert "More than 2 segments" in counter.inner_text()
    assert "oc-sms-over" in counter.get_attribute("class")


def test_the_browser_counts_segments_as_python_does(staff_page, live_server):
    page = staff_page
    open_sms_editor(page, live_server)
    counter = page.locator("#contents-0 .oc-sms-counter")
    text = page.locator("#id_contents-0-text")
    found = {}
    for sample in TEXTS:
        text.fill(sample)
        assert text.input_value() == sample  # the textarea keeps it as typed
        found[sample] = int(counter.get_attribute("data-segments"))
    assert found == {sample: segments(sample) for sample in TEXTS}
