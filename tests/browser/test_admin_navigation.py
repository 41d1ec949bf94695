"""A marketer finds their way in the admin, in Chromium: Marketing first on the home page,
the scheduler folded away, the cart recovery dashboard one click from home, a sent message
as a page without Save buttons, and a 400-character URL that wraps instead of widening it.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from omnichannel.admin.permissions import marketing_group
from omnichannel.models import DeliveryEvent, InboundMessage, Message
from omnichannel.models.messages import DeliveryEventKind, MessageStatus
from omnichannel.testing.factories import ContactFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_URL = "https://shop.example.com/cart/restore?" + "token=" + "a1B2" * 100  # 400+ chars
VIEWPORT = {"width": 1024, "height": 900}
PAGE_WIDTH = "[document.documentElement.scrollWidth, window.innerWidth]"
# Boxes of the page's content wider inside than they show: the admin clips its form rows
# (overflow: hidden) and scrolls its inline tables, so a long URL that does not wrap is cut
# off or hidden to the right even when the page itself keeps the window's width.
CLIPPED = """[...document.querySelectorAll('#content *')]
    .filter(box => box.scrollWidth > box.clientWidth + 1 && !box.closest('.visually-hidden'))
    .map(box => `${box.tagName.toLowerCase()}.${box.className}`)"""
# The app's stylesheet taken out of the page, and put back (the screenshot shows the page).
STYLESHEET_OFF = (
    "window.ocSheet = document.querySelector('link[href*=\"omnichannel/admin/\"]');"
    " window.ocSheet.remove()"
)
STYLESHEET_ON = "document.head.append(window.ocSheet)"


@pytest.fixture
def marketer_page(open_page, live_server):
    """A page logged in as a member of the Marketing group who may also read the
    scheduler's models (so that they are on the home page, folded)."""
    user = get_user_model().objects.create_user(
        "marketer", "marketer@shop.example", "pw-123456", is_staff=True
    )
    user.groups.add(marketing_group())
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="django_celery_beat", codename__startswith="view_"
        )
    )
    page = open_page(viewport=VIEWPORT)
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", "marketer")
    page.fill("#id_password", "pw-123456")
    page.click("input[type=submit]")
    page.wait_for_url(live_server.url + reverse("admin:index"))
    return page


def sent_message():
    now = timezone.now()
    message = Message.objects.create(
        contact=ContactFactory(email="ann@example.com"),
        channel="email",
        status=MessageStatus.SENT,
        scheduled_at=now,
        sent_at=now,
        idempotency_key="browser-long-url",
        to="ann@example.com",
        rendered={"subject": "Your cart", "text": f"Come back: {LONG_URL}"},
        context={"cart": {"restore_url": LONG_URL}},
        last_error=f"provider said: {LONG_URL}",
        provider="anymail",
        provider_message_id="id-" + "x" * 200,
    )
    DeliveryEvent.objects.create(
        message=message, kind=DeliveryEventKind.CLICKED, detail=LONG_URL, occurred_at=now
    )
    return message


def test_a_marketer_finds_marketing_first_and_the_scheduler_folded(marketer_page):
    page = marketer_page
    headings = page.locator("#content-main caption a.section").all_text_contents()
    assert headings[0] == "Marketing"
    assert headings[-1] == "Periodic Tasks" and len(headings) > 2
    scheduler = page.locator("#content-main details.oc-scheduler")
    assert scheduler.get_attribute("open") is None
    crontabs = scheduler.get_by_role("link", name="Crontabs").first
    assert not crontabs.is_visible()
    scheduler.locator("summary").click()
    assert crontabs.is_visible()


def test_the_dashboard_opens_from_the_home_page(marketer_page, live_server):
    page = marketer_page
    page.locator("#content-main .app-marketing").get_by_role("link", name="Cart recovery").click()
    page.wait_for_url(live_server.url + reverse("admin:omnichannel_cartrecovery_changelist"))
    assert page.locator("#content h1").inner_text() == "Cart recovery"
    assert page.locator("svg.oc-chart").is_visible()


def test_a_sent_message_is_a_page_without_buttons_that_fits_the_window(marketer_page, live_server):
    message = sent_message()
    page = marketer_page
    page.goto(live_server.url + reverse("admin:omnichannel_message_change", args=[message.pk]))
    assert page.locator("#content h1").inner_text() == "View message"
    assert page.locator("input[type=submit]").count() == 0
    assert page.get_by_role("link", name="Delete").count() == 0
    assert page.get_by_text(LONG_URL[:60]).count() >= 3  # text, last error, delivery event

    page.locator("fieldset.collapse summary").click()  # Internals: the context's URL too
    scroll_width, window_width = page.evaluate(PAGE_WIDTH)
    assert scroll_width <= window_width
    assert page.evaluate(CLIPPED) == []

    # Without the app's stylesheet the URL is cut off: the checks above hold because of
    # it, not because the URL happened to fit.
    page.evaluate(STYLESHEET_OFF)
    assert "div.form-row field-last_error" in page.evaluate(CLIPPED)
    page.evaluate(STYLESHEET_ON)
    page.wait_for_function(f"{CLIPPED}.length === 0")


def test_a_list_with_a_long_url_fits_its_table(marketer_page, live_server):
    InboundMessage.objects.create(
        provider_message_id="SM-long",
        channel="sms",
        from_address="+33612345678",
        to_address="+33700000000",
        body=f"is this my cart? {LONG_URL}",
    )
    page = marketer_page
    # Wide enough for the list's own columns: narrower, Django scrolls its tables whatever
    # they hold (nowrap headers and dates beside the filter panel and the sidebar).
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(live_server.url + reverse("admin:omnichannel_inboundmessage_changelist"))
    assert page.get_by_text(LONG_URL[:60]).count() == 1
    scroll_width, window_width = page.evaluate(PAGE_WIDTH)
    assert scroll_width <= window_width and page.evaluate(CLIPPED) == []
    page.evaluate(STYLESHEET_OFF)
    assert page.evaluate(CLIPPED) == ["div.results"]  # without it, the table scrolls
    page.evaluate(STYLESHEET_ON)
    page.wait_for_function(f"{CLIPPED}.length === 0")
