"""The popup in a real browser: triggers, closing, subscribing, keyboard, mobile."""

from decimal import Decimal

import pytest
from django.urls import reverse

from omnichannel.models import Consent, Contact, PopupEvent, PopupSignup
from omnichannel.testing.factories import PopupFactory
from sample_shop.shop.models import DiscountCode, Product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DIALOG = "[role=dialog]"


@pytest.fixture(autouse=True)
def shop(settings):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "POPUP_MIN_SUBMIT_SECONDS": 0}
    from django.core.cache import cache

    cache.clear()
    for number in range(8):
        Product.objects.create(
            name=f"Product {number}", slug=f"product-{number}", price=Decimal("10.00")
        )


def exit_popup(**fields):
    fields.setdefault("min_seconds_on_page", 0)
    fields.setdefault("gift", "percent")
    fields.setdefault("discount_value", Decimal("10"))
    fields.setdefault("code_prefix", "WELCOME")
    fields.setdefault("on_scroll_up", False)
    return PopupFactory(**fields)


def visit(page, live_server, path=None):
    page.goto(live_server.url + (path or reverse("shop:product_list")))
    page.wait_for_function("window.omnichannelLoaded === 1")


def leave_through_the_top(page):
    page.mouse.move(600, 200)
    page.mouse.move(600, 5)
    page.mouse.move(600, -20)


def focused_in_dialog(page):
    return page.evaluate("document.querySelector('[role=dialog]').contains(document.activeElement)")


def test_leaving_through_the_top_shows_the_popup(open_page, live_server):
    exit_popup()
    page = open_page()
    visit(page, live_server)
    leave_through_the_top(page)
    dialog = page.locator(DIALOG)
    dialog.wait_for()
    assert dialog.get_attribute("aria-modal") == "true"
    labelled_by = dialog.get_attribute("aria-labelledby")
    assert page.locator(f"#{labelled_by}").inner_text() == "Get 10 % off your first order"
    assert page.evaluate("document.activeElement.type") == "email"
    assert PopupEvent.objects.filter(kind="impression").count() == 1


def test_moving_and_clicking_inside_the_page_does_not(open_page, live_server):
    exit_popup()
    page = open_page()
    visit(page, live_server)
    for x, y in [(100, 100), (500, 300), (900, 50), (300, 600)]:
        page.mouse.move(x, y)
        page.mouse.click(x, y)
    page.locator("h1").click()
    page.wait_for_timeout(500)
    assert page.locator(DIALOG).count() == 0
    assert not PopupEvent.objects.exists()


def test_escape_closes_it_and_it_stays_closed_on_reload(open_page, live_server):
    exit_popup()
    page = open_page()
    visit(page, live_server)
    page.locator("h1").focus()
    leave_through_the_top(page)
    page.locator(DIALOG).wait_for()
    page.keyboard.press("Escape")
    page.locator(DIALOG).wait_for(state="detached")
    assert page.evaluate("document.activeElement.tagName") == "H1" or page.evaluate(
        "document.activeElement === document.body"
    )
    page.reload()
    page.wait_for_function("window.omnichannelLoaded === 1")
    leave_through_the_top(page)
    page.wait_for_timeout(500)
    assert page.locator(DIALOG).count() == 0
    page.wait_for_function("true")
    assert PopupEvent.objects.filter(kind="close").count() == 1


def test_submitting_an_email_shows_the_gift_and_subscribes(open_page, live_server):
    from omnichannel import signals

    received = []
    signals.popup_subscribed.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="browser.subscribed"
    )
    try:
        popup = exit_popup()
        page = open_page()
        visit(page, live_server)
        leave_through_the_top(page)
        page.get_by_label("Email address").fill("ann@example.com")
        page.get_by_label("Yes, email me offers").check()
        page.get_by_role("button", name="Subscribe").click()
        code = page.locator("[data-oc-code]")
        code.wait_for()
        assert code.inner_text().startswith("WELCOME")
        assert page.locator(DIALOG).get_attribute("aria-labelledby").endswith("-done")
    finally:
        signals.popup_subscribed.disconnect(dispatch_uid="browser.subscribed")
    contact = Contact.objects.get()
    assert contact.email == "ann@example.com"
    consent = Consent.objects.get(contact=contact)
    assert (consent.channel, consent.status) == ("email", "granted")
    assert consent.wording.startswith("Yes, email me offers")
    assert DiscountCode.objects.get().code == code.inner_text()
    assert PopupSignup.objects.get(popup=popup).completed_at is not None
    assert [call["contact"] for call in received] == [contact]


def test_errors_are_shown_beside_the_field(open_page, live_server):
    exit_popup()
    page = open_page()
    visit(page, live_server)
    leave_through_the_top(page)
    page.get_by_label("Email address").fill("ann@")
    page.get_by_label("Yes, email me offers").check()
    page.get_by_role("button", name="Subscribe").click()
    error = page.locator("[data-oc-error=email]")
    error.wait_for()
    assert "valid email" in error.inner_text()
    assert page.get_by_label("Email address").get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.name") == "email"


def test_keyboard_only(open_page, live_server):
    exit_popup(on_exit_intent=False, delay_seconds=0)
    page = open_page()
    visit(page, live_server)
    page.locator(DIALOG).wait_for()
    assert focused_in_dialog(page)
    # Tab goes round the four controls (close, email, consent, subscribe), never out to
    # the page: twice round forwards and once backwards lands on the email field again.
    for _ in range(8):
        page.keyboard.press("Tab")
        assert focused_in_dialog(page)
    for _ in range(4):
        page.keyboard.press("Shift+Tab")
        assert focused_in_dialog(page)
    assert page.evaluate("document.activeElement.type") == "email"
    page.keyboard.type("kim@example.com")
    page.keyboard.press("Tab")  # the consent checkbox
    assert page.evaluate("document.activeElement.type") == "checkbox"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.locator("[data-oc-code]").wait_for()
    # The success heading has the focus; Tab reaches the close button; Enter closes.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Close"
    page.keyboard.press("Enter")
    page.locator(DIALOG).wait_for(state="detached")
    assert Contact.objects.filter(email="kim@example.com").exists()


def test_mobile_fast_scroll_up_shows_the_popup(open_page, live_server, iphone):
    exit_popup(on_scroll_up=True, device="mobile")
    page = open_page(**iphone)
    visit(page, live_server)
    assert page.evaluate("matchMedia('(pointer: coarse)').matches")

    def swipe(to, steps, step_ms):
        # Headless Chromium here synthesises no touch gestures, so the scroll positions a
        # swipe goes through are set frame by frame: the page sees the same scroll events.
        page.evaluate(
            """([to, steps, stepMs]) => new Promise(done => {
                const from = scrollY, started = performance.now()
                const tick = now => {
                    const k = Math.min(1, (now - started) / (steps * stepMs))
                    scrollTo(0, from + (to - from) * k)
                    k < 1 ? requestAnimationFrame(tick) : done()
                }
                requestAnimationFrame(tick)
            })""",
            [to, steps, step_ms],
        )

    swipe(1500, 40, 25)  # read down the page, slowly
    page.wait_for_timeout(400)
    swipe(1300, 20, 25)  # drift back up a little, slowly: not an exit
    page.wait_for_timeout(400)
    assert page.locator(DIALOG).count() == 0
    swipe(500, 8, 16)  # flick back up towards the address bar
    page.locator(DIALOG).wait_for()
    assert page.locator(DIALOG).is_visible()


def test_desktop_only_popup_is_not_on_mobile(open_page, live_server, iphone):
    exit_popup(on_scroll_up=True, device="desktop")
    page = open_page(**iphone)
    page.goto(live_server.url + reverse("shop:product_list"))
    assert page.locator("#omnichannel-popups").count() == 0


def product_page(live_server):
    product = Product.objects.order_by("pk").first()
    return reverse("shop:product_detail", args=[product.slug])


def slide_in(**fields):
    fields.setdefault("on_exit_intent", False)
    fields.setdefault("delay_seconds", 0)
    return exit_popup(variants=[{"position": "slide_in"}], **fields)


def test_a_slide_in_leaves_the_focus_to_the_page(open_page, live_server):
    slide_in()
    page = open_page()
    visit(page, live_server, product_page(live_server))
    page.locator(DIALOG).wait_for()
    assert page.locator(DIALOG).get_attribute("aria-modal") is None
    assert not focused_in_dialog(page)
    quantity = page.get_by_label("Quantity")
    quantity.click()
    page.keyboard.press("End")
    page.keyboard.type("4")
    assert quantity.input_value() == "14"
    assert page.evaluate("document.activeElement.id") == quantity.get_attribute("id")
    # Escape in the page's field is the page's; Tab walks on through the page.
    page.keyboard.press("Escape")
    assert page.locator(DIALOG).is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Add to cart"
    # The slide-in is still reachable and works from the keyboard.
    page.get_by_label("Email address").click()
    page.keyboard.press("Escape")
    page.locator(DIALOG).wait_for(state="detached")


def boxes_overlap(a, b):
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.parametrize("device", ["iPhone 13", "Pixel 5"])
def test_on_mobile_a_slide_in_leaves_the_price_and_add_to_cart_uncovered(
    open_page, live_server, chromium, device
):
    playwright, _browser = chromium
    slide_in(device="all")
    page = open_page(**playwright.devices[device])
    visit(page, live_server, product_page(live_server))
    dialog = page.locator(DIALOG)
    dialog.wait_for()
    page.wait_for_timeout(300)  # the slide-in's entrance animation
    box = dialog.bounding_box()
    viewport = page.viewport_size
    assert box["width"] > 0 and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]
    for element in (page.locator(".price"), page.get_by_role("button", name="Add to cart")):
        covered = element.bounding_box()
        assert covered["y"] < viewport["height"]  # on the first screen, where it matters
        assert not boxes_overlap(box, covered), (device, box, covered)


def test_storage_waits_for_a_trigger_and_leaving_counts_the_page_view(open_page, live_server):
    exit_popup(min_page_views=2)
    page = open_page()
    visit(page, live_server)
    # Loaded and armed, yet no storage read or written: that waits for a trigger.
    assert page.evaluate("[localStorage.length, sessionStorage.length]") == [0, 0]
    # Leaving the page counts its view: the second page is the one the popup may show on.
    visit(page, live_server, product_page(live_server))
    assert page.evaluate("JSON.parse(sessionStorage.omnichannel).pv") == 1
    leave_through_the_top(page)
    page.locator(DIALOG).wait_for()
    assert page.evaluate("JSON.parse(sessionStorage.omnichannel).pv") == 2
