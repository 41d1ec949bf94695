"""Emails built from blocks in the browser: the block editor on a step page (by keyboard),
and the email they make at desktop and phone widths."""

from datetime import timedelta

import pytest
from django.urls import reverse

from omnichannel.outbox.rendering import render_content
from tests.flows.conftest import make_flow
from tests.test_email_blocks import CONTEXT

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_build_an_email_from_blocks_and_preview_it(staff_page, live_server):
    page = staff_page
    step = make_flow(steps=[("Hello", timedelta(0), "email")], status="draft").steps.get()
    step.contents.update(html="", text="")
    page.goto(live_server.url + reverse("admin:omnichannel_step_change", args=[step.pk]))
    editor = page.locator("#contents-0 .oc-blocks-editor")
    assert editor.is_visible() and not page.locator("#id_contents-0-blocks").is_visible()
    assert "No blocks yet" in editor.inner_text()

    adder = editor.locator(".oc-block-adder")
    adder.locator("select").select_option("heading")
    adder.get_by_role("button", name="Add block").click()
    # The new block's first field has the focus: staff type straight away.
    page.keyboard.type("Welcome, ")
    # The step's variable picker inserts into a block's field like into any other.
    page.locator('#oc-merge-tags button[data-tag="{{ contact.first_name }}"]').click()
    adder.locator("select").select_option("button")
    adder.get_by_role("button", name="Add block").press("Enter")
    page.keyboard.type("Visit the shop")
    page.keyboard.press("Tab")
    page.keyboard.type("{{ shop.url }}")
    legends = editor.locator("legend")
    assert legends.all_inner_texts() == ["Block 1: Heading", "Block 2: Button"]

    # Move the button up with the keyboard; the focus stays on the moved block's button.
    editor.locator("fieldset").nth(1).get_by_role("button", name="Move up").focus()
    page.keyboard.press("Enter")
    assert legends.all_inner_texts() == ["Block 1: Button", "Block 2: Heading"]
    # At the top its Move up is disabled: the focus goes to the moved block's first field.
    focused = page.evaluate("document.activeElement.closest('fieldset').dataset.type")
    assert focused == "button"
    assert editor.locator("fieldset").first.get_by_role("button", name="Move up").is_disabled()

    ARTIFACTS.mkdir(exist_ok=True)
    editor.screenshot(path=str(ARTIFACTS / "email-blocks-editor.png"))
    page.locator("input[name=_save]").click()
    page.wait_for_url("**/flow/**")
    content = step.contents.get()
    assert content.blocks == [
        {"type": "button", "label": "Visit the shop", "url": "{{ shop.url }}"},
        {"type": "heading", "text": "Welcome, {{ contact.first_name }}"},
    ]

    page.goto(live_server.url + reverse("admin:omnichannel_step_preview", args=[step.pk]))
    email = page.frame_locator("iframe").first
    assert email.get_by_role("heading", name="Welcome, Alex").is_visible()
    link = email.get_by_role("link", name="Visit the shop")
    assert link.is_visible()
    # The button comes first, as moved.
    top_of = lambda locator: locator.bounding_box()["y"]  # noqa: E731
    assert top_of(link) < top_of(email.get_by_role("heading", name="Welcome, Alex"))
    assert email.get_by_role("link", name="Unsubscribe").is_visible()


EMAIL = [
    {"type": "logo"},
    {"type": "heading", "text": "Your cart is saved, {{ contact.last_name|default:'Ann' }}"},
    {"type": "text", "text": "You left these in your cart. We kept them for you."},
    {"type": "cart", "title": "Your cart"},
    {"type": "button", "label": "Back to my cart", "url": "{{ cart.restore_url }}"},
    {"type": "discount", "note": "For you alone, for three days."},
    {"type": "recommendations", "title": "A few things people come back for:"},
]


# Pictures the page has without a network: a square of colour per product.
PICTURE = (
    "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' width='128' height='128'>"
    "<rect width='128' height='128' fill='%23c9a27e'/></svg>"
)


@pytest.mark.parametrize("width", [700, 375])
def test_the_email_holds_at_desktop_and_phone_widths(open_page, width):
    cart = {
        **CONTEXT["cart"],
        "lines": [{**line, "image_url": PICTURE} for line in CONTEXT["cart"]["lines"]],
    }
    products = [{**p, "image_url": PICTURE} for p in CONTEXT["recommendations"]]
    context = {**CONTEXT, "cart": cart, "recommendations": products}
    html = render_content({"blocks": EMAIL}, context)["html"]
    page = open_page(viewport={"width": width, "height": 1400})
    page.set_content(html)
    # Nothing sticks out sideways: no horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    button = page.get_by_role("link", name="Back to my cart").bounding_box()
    heading = page.get_by_role("heading").bounding_box()
    assert heading["x"] >= 0 and heading["x"] + heading["width"] <= width
    column = page.locator(".mj-column-per-100").first.bounding_box()
    # MJML's body is 600 px wide on a desktop, centred; on a phone, the screen's width
    # (less the 12 px either side of the card).
    if width > 600:
        assert column["width"] == 576 and column["x"] == (width - 576) / 2
    else:
        assert column["width"] == width - 24
    assert button["width"] > 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"email-blocks-{width}px.png"), full_page=True)
