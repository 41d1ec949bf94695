"""A step's variables in the browser: the preview marks the one the step cannot fill, and
the step page's picker inserts a tag where the cursor is."""

from datetime import timedelta

import pytest
from django.urls import reverse

from tests.flows.conftest import make_flow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sms_step():
    step = make_flow(steps=[("Nudge", timedelta(0), "sms")], status="draft").steps.get()
    step.contents.update(text="Your code {{ discount.code }} is waiting")
    return step


def test_the_preview_highlights_a_variable_the_step_cannot_fill(staff_page, live_server):
    step = sms_step()
    staff_page.goto(live_server.url + reverse("admin:omnichannel_step_preview", args=[step.pk]))
    mark = staff_page.locator("mark.oc-unprovided")
    assert mark.inner_text() == "{{ discount.code }}"
    colour = mark.evaluate("element => getComputedStyle(element).backgroundColor")
    assert colour == "rgb(255, 204, 204)"
    reason = staff_page.locator("p.oc-unprovided").inner_text()
    assert reason.startswith("Uses {{ discount.code }}, but this step has no offer")


def test_the_picker_inserts_the_tag_at_the_cursor(staff_page, live_server):
    step = sms_step()
    staff_page.goto(live_server.url + reverse("admin:omnichannel_step_change", args=[step.pk]))
    picker = staff_page.locator("#oc-merge-tags")
    assert picker.locator("button[data-tag='{{ discount.code }}']").count() == 0  # no offer
    text = staff_page.locator("#id_contents-0-text")
    text.fill("Hi , welcome")
    text.evaluate("field => field.setSelectionRange(3, 3)")
    picker.get_by_role("button", name="contact.first_name").click()
    assert text.input_value() == "Hi {{ contact.first_name }}, welcome"
    assert picker.locator(".oc-merge-tags-target").inner_text() == "Text"
