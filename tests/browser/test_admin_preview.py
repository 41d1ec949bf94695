"""The popup's live preview in the admin follows the form as staff type."""

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_preview_follows_the_form(staff_page, live_server):
    page = staff_page
    page.goto(live_server.url + reverse("admin:omnichannel_popup_add"))

    page.fill("#id_variants-0-headline", "Ten percent <off>")
    preview = page.frame_locator("#oc-preview")
    heading = preview.locator("h2").first
    heading.wait_for()
    assert heading.inner_text() == "Ten percent <off>"
    page.fill("#id_variants-0-button_label", "Get my code")
    preview.get_by_role("button", name="Get my code").wait_for()
    # Typing kept the focus in the admin form, not in the preview.
    assert page.evaluate("document.activeElement.id") == "id_variants-0-button_label"
    page.select_option("#id_variants-0-position", "bar")
    preview.locator(".oc-bar").wait_for()
