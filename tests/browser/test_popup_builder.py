"""The popup builder in the browser: the preview beside the fields wherever staff scroll,
at a desktop's or a phone's width; a variant duplicated; colours checked for contrast."""

import pytest
from django.urls import reverse

from omnichannel.models import Popup
from omnichannel.popups.contrast import contrast_ratio, shown
from omnichannel.testing.factories import PopupFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_builder(page, live_server, popup):
    page.goto(live_server.url + reverse("admin:omnichannel_popup_change", args=[popup.pk]))
    page.frame_locator("#oc-preview").locator("h2").first.wait_for()


def test_popup_builder_keeps_the_preview_beside_the_last_fields(staff_page, live_server):
    page = staff_page
    open_builder(page, live_server, PopupFactory(variants=[{"name": "A"}, {"name": "B"}]))
    assert page.evaluate("document.documentElement.scrollHeight") > 2 * 1600
    last = page.locator("#id_variants-1-accent_colour")
    last.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 1600
    frame, field = page.locator("#oc-preview").bounding_box(), last.bounding_box()
    assert frame["y"] >= 0 and frame["y"] + frame["height"] <= 1600  # in view
    assert frame["x"] > field["x"] + field["width"]  # beside the fields, not over them
    # Typing down there still shows in the preview up here.
    page.fill("#id_variants-0-headline", "Still in view")
    page.frame_locator("#oc-preview").get_by_text("Still in view").wait_for()


def test_narrow_windows_stack_the_preview_above_the_fields(open_page, staff_page, live_server):
    page = staff_page
    page.set_viewport_size({"width": 800, "height": 1000})
    open_builder(page, live_server, PopupFactory())
    frame = page.locator("#oc-preview").bounding_box()
    fields = page.locator("#id_name").bounding_box()
    assert frame["y"] + frame["height"] < fields["y"]


def test_the_mobile_toggle_lays_the_popup_out_at_a_phones_width(staff_page, live_server):
    page = staff_page
    open_builder(page, live_server, PopupFactory())
    preview = page.frame_locator("#oc-preview").locator("html")
    assert preview.evaluate("() => window.innerWidth") == 1280
    column = page.locator(".oc-preview-stage").evaluate("stage => stage.clientWidth")
    # A 1280 px window scaled down to the column.
    assert page.locator("#oc-preview").bounding_box()["width"] == pytest.approx(column, abs=1)

    page.get_by_role("button", name="Mobile").click()
    assert preview.evaluate("() => window.innerWidth") == 390
    assert page.get_by_role("button", name="Mobile").get_attribute("aria-pressed") == "true"
    assert page.get_by_role("button", name="Desktop").get_attribute("aria-pressed") == "false"
    # The phone at its own size where the column is wider, scaled down where it is not.
    mobile = page.locator("#oc-preview").bounding_box()["width"]
    assert mobile == pytest.approx(min(390, column), abs=1)

    page.get_by_role("button", name="Desktop").focus()
    page.keyboard.press("Enter")
    assert preview.evaluate("() => window.innerWidth") == 1280


def test_duplicate_variant_from_the_builder(staff_page, live_server):
    page = staff_page
    popup = PopupFactory(variants=[{"name": "Spring", "weight": 3}])
    open_builder(page, live_server, popup)
    page.fill("#id_variants-0-headline", "Edited before copying")
    page.get_by_role("button", name="Duplicate").click()
    page.locator(".messagelist .success").wait_for()
    assert "“Spring” duplicated as “Spring (copy)”" in page.locator(".messagelist").inner_text()
    names = {page.input_value(f"#id_variants-{i}-name") for i in (0, 1)}
    assert names == {"Spring", "Spring (copy)"}
    copy = popup.variants.get(name="Spring (copy)")
    assert (copy.headline, copy.weight) == ("Edited before copying", 0)


def test_low_contrast_is_shown_live_and_blocks_the_first_save(staff_page, live_server):
    page = staff_page
    popup = PopupFactory()
    open_builder(page, live_server, popup)
    text_pair = page.locator(".field-contrast li").first
    assert text_pair.inner_text() == "Text on the background: 15.7:1, readable"
    # The page's figures are the form's (the check on saving), colour by colour.
    for colour in ("#767676", "#777777", "#ff0000", "#000000"):
        page.fill("#id_variants-0-text_colour", colour)
        expected = shown(contrast_ratio(colour, "#ffffff"))
        assert text_pair.inner_text().startswith(f"Text on the background: {expected},")
    assert "too low: WCAG AA asks for at least 4.5:1" not in text_pair.inner_text()
    page.fill("#id_variants-0-text_colour", "#aaaaaa")
    assert text_pair.inner_text().endswith("too low: WCAG AA asks for at least 4.5:1")
    assert "oc-contrast-low" in text_pair.get_attribute("class")

    confirm = page.get_by_label("Save with this contrast anyway")
    assert confirm.count() == 0
    page.locator("input[name=_continue]").first.click()
    page.locator(".errornote").wait_for()
    assert (
        "Text on the background 2.3:1"
        in page.locator("#variants-0 .field-low_contrast_ok").inner_text()
    )
    assert Popup.objects.get().variants.get().text_colour == "#1f2328"

    confirm.check()
    page.locator("input[name=_continue]").first.click()
    page.locator(".messagelist .success").wait_for()
    assert popup.variants.get().text_colour == "#aaaaaa"
