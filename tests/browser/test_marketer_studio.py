"""Issue 13's "done when", as a marketer does it in the browser: a welcome flow added in
the admin, drawn on the canvas (an email, a yes / no split on SMS consent, an SMS on the
yes path), its email built from blocks and its SMS typed, refused activation while the SMS
uses a variable the step cannot fill, fixed and activated; then a signup in the shop and a
popup subscription each get the series.

Everything that builds the flow goes through the admin's pages; the database is only read,
to check what the pages did, and the engine's due work is run with its ``now=`` argument.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from omnichannel.models import Flow, Message
from omnichannel.models.flows import FlowStatus
from tests.flows.test_order_journey import sent_now

from .conftest import ARTIFACTS
from .test_flow_canvas import NODES, choose_with_the_keyboard, drawn, node
from .test_popup import exit_popup, leave_through_the_top, shop, visit  # noqa: F401 (shop: autouse)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FLOW_NAME = "Welcome, with a text for those who want one"
SMS_FIXED = "Welcome to the shop! Reply STOP to opt out."


@pytest.fixture
def shop_asks_for_a_phone(settings, locmem_channels):
    """The signup form asks for a mobile number, so the SMS opt-in is offered; every
    channel sends to the in-memory outbox, which is yielded."""
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "SIGNUP_PROFILE_FIELDS": ["phone"]}
    return locmem_channels


def add_the_flow(page, live_server):
    """Step 1: the flow add form, then "Save and continue editing" to reach the canvas."""
    page.goto(live_server.url + reverse("admin:omnichannel_flow_add"))
    page.fill("#id_name", FLOW_NAME)
    page.select_option("#id_kind", "welcome")
    page.select_option("#id_trigger", "signup")
    also = page.locator("#id_also_triggered_by")
    also.get_by_label("Subscribes through a popup").check()
    page.locator("#id_exit_goals").get_by_label("Placed an order").check()
    page.click("input[name=_continue]")
    page.wait_for_url("**/change/")
    flow = Flow.objects.get(name=FLOW_NAME)
    assert (flow.kind, flow.trigger, flow.status) == ("welcome", "signup", FlowStatus.DRAFT)
    assert flow.also_triggered_by == ["popup_subscribed"]
    return flow


def wait_for_the_canvas(page, count):
    page.wait_for_function(f"document.querySelectorAll('{NODES}').length >= {count}")


def add_node(page, kind, name, delay, channel=None):
    page.click(f"[data-oc-add={kind}]")
    page.fill("#oc-canvas-name", name)
    page.fill("#oc-canvas-delay", delay)
    if channel:
        page.select_option("#oc-canvas-channel", channel)


def draw_the_series(page, flow):
    """Step 2: email -> split (yes: SMS -> end, no: end), both triggers into the email."""
    # Two triggers, the end of the path and the "ordered" goal: nothing else yet.
    wait_for_the_canvas(page, 4)
    # Each new node goes beside the selected one: the first beside the trigger.
    node(page, "Signs up in the shop").click()
    add_node(page, "message", "Welcome email", "0", "email")
    add_node(page, "split", "Agreed to texts?", "1 day")
    add_node(page, "message", "Welcome text", "until 10:00", "sms")
    add_node(page, "exit", "End of the welcome", "0")
    choose_with_the_keyboard(
        page, "Signs up in the shop", "#oc-canvas-next", "Message: Welcome email"
    )
    choose_with_the_keyboard(
        page, "Subscribes through a popup", "#oc-canvas-next", "Message: Welcome email"
    )
    choose_with_the_keyboard(
        page, "Welcome email", "#oc-canvas-next", "Yes / no split: Agreed to texts?"
    )
    choose_with_the_keyboard(page, "Agreed to texts?", "#oc-canvas-yes", "Message: Welcome text")
    choose_with_the_keyboard(
        page, "Welcome text", "#oc-canvas-next", "End of the path: End of the welcome"
    )
    # "No" straight to "Flow completed" is refused while the text comes after the split
    # (a split's empty way is the next step in the order: it would lead to the text).
    choose_with_the_keyboard(page, "Agreed to texts?", "#oc-canvas-no", "Flow completed")
    page.click("[data-oc-save]")
    problem = page.locator(".oc-canvas-problems li")
    problem.first.wait_for()
    assert problem.all_inner_texts() == [
        "“Agreed to texts?”: its “no” path ends, but steps come after it: connect it to an "
        "end node or to a step."
    ]
    assert not flow.steps.exists()
    choose_with_the_keyboard(
        page, "Agreed to texts?", "#oc-canvas-no", "End of the path: End of the welcome"
    )
    page.click("[data-oc-save]")
    page.wait_for_selector(".oc-canvas-status:has-text('Saved')")


EXPECTED_WAYS = [
    ["Agreed to texts?", "End of the welcome", "output_2"],
    ["Agreed to texts?", "Welcome text", "output_1"],
    ["Signs up in the shop", "Welcome email", "output_1"],
    ["Subscribes through a popup", "Welcome email", "output_1"],
    ["Welcome email", "Agreed to texts?", "output_1"],
    ["Welcome text", "End of the welcome", "output_1"],
]


def open_step(page, name):
    """The node's "Edit content" (a split: "Edit conditions") link in the canvas panel."""
    node(page, name).focus()
    page.keyboard.press("Enter")
    page.locator(".oc-canvas-edit").click()
    page.wait_for_url("**/step/**/change/")


def run_the_due_work_for_four_days():
    """What beat would do, hour by hour from now: the split waits a day and the text waits
    for 10:00 in the contact's time, then perhaps for the SMS send window (not on a
    Sunday in France), whatever day and hour the test runs."""
    start = timezone.now()
    for hour in range(4 * 24):
        sent_now(start + timedelta(hours=hour, minutes=1))


def test_a_marketer_builds_a_welcome_series_and_two_contacts_get_it(
    staff_page, live_server, open_page, shop_asks_for_a_phone
):
    page, outbox = staff_page, shop_asks_for_a_phone
    flow = add_the_flow(page, live_server)
    draw_the_series(page, flow)
    saved = drawn(page)
    assert saved["ways"] == EXPECTED_WAYS
    page.locator("#canvas").screenshot(path=str(ARTIFACTS / "studio-canvas.png"))
    page.reload()
    wait_for_the_canvas(page, 8)
    assert drawn(page) == saved
    steps = list(flow.steps.order_by("position"))
    assert [(s.name, s.kind, s.channel) for s in steps] == [
        ("Welcome email", "message", "email"),
        ("Agreed to texts?", "split", "email"),
        ("Welcome text", "message", "sms"),
        ("End of the welcome", "exit", "email"),
    ]

    # Step 3: the split's condition, on its page.
    open_step(page, "Agreed to texts?")
    page.select_option("#id_conditions-0-name", "consent_for")
    page.select_option("#id_conditions-0-consent_for-channel", "sms")
    page.locator("input[name=_save]").click()
    page.wait_for_url(f"**/flow/{flow.pk}/change/")
    assert flow.steps.get(kind="split").conditions == [
        {"name": "consent_for", "params": {"channel": "sms"}}
    ]

    # The email, built from blocks.
    wait_for_the_canvas(page, 8)
    open_step(page, "Welcome email")
    # A content added starts on the step's channel, its editor showing that channel's fields.
    page.locator("#contents-group .add-row a").click()
    assert page.input_value("#id_contents-0-channel") == "email"
    page.fill("#id_contents-0-subject", "Welcome to the shop")
    editor = page.locator("#contents-0 .oc-blocks-editor")
    adder = editor.locator(".oc-block-adder")
    adder.locator("select").select_option("heading")
    adder.get_by_role("button", name="Add block").click()
    page.keyboard.type("Welcome, ")
    page.locator('#oc-merge-tags button[data-tag="{{ contact.first_name }}"]').click()
    # Signups give no first name here: a default inside the tag, typed before its " }}".
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    page.keyboard.type('|default:"there"')
    adder.locator("select").select_option("text")
    adder.get_by_role("button", name="Add block").click()
    page.keyboard.type("Thank you for joining us.\nNew things arrive every week.")
    adder.locator("select").select_option("button")
    adder.get_by_role("button", name="Add block").click()
    page.keyboard.type("Visit the shop")
    page.keyboard.press("Tab")
    page.keyboard.type("{{ shop.url }}")
    assert editor.locator("legend").all_inner_texts() == [
        "Block 1: Heading",
        "Block 2: Text",
        "Block 3: Button",
    ]
    page.locator("#contents-group").screenshot(path=str(ARTIFACTS / "studio-email-editor.png"))
    page.locator("input[name=_save]").click()
    page.wait_for_url(f"**/flow/{flow.pk}/change/")
    email = flow.steps.get(name="Welcome email").contents.get()
    assert email.blocks == [
        {"type": "heading", "text": 'Welcome, {{ contact.first_name|default:"there" }}'},
        {"type": "text", "text": "Thank you for joining us.\nNew things arrive every week."},
        {"type": "button", "label": "Visit the shop", "url": "{{ shop.url }}"},
    ]

    # The SMS uses a code although the step gives none.
    wait_for_the_canvas(page, 8)
    open_step(page, "Welcome text")
    page.locator("#contents-group .add-row a").click()
    assert page.locator("#contents-0").get_attribute("data-channel") == "sms"
    page.fill("#id_contents-0-text", "Welcome! Your code {{ discount.code }} waits for you.")
    page.locator("input[name=_save]").click()
    page.wait_for_url(f"**/flow/{flow.pk}/change/")

    # Step 4: activating is refused, naming the step and the variable.
    page.locator("button.oc-tool", has_text="Activate").click()
    refusal = page.locator(".messagelist .error")
    refusal.wait_for()
    named = (
        "Step 3 “Welcome text”, SMS, text: it uses {{ discount.code }}, but this step has no offer"
    )
    assert "was not activated: " + named in refusal.inner_text()
    assert named in page.locator(".oc-problems").inner_text()
    page.screenshot(path=str(ARTIFACTS / "studio-refused.png"))
    assert Flow.objects.get(pk=flow.pk).status == FlowStatus.DRAFT

    # Fixed: the text without the code. Activated.
    wait_for_the_canvas(page, 8)
    open_step(page, "Welcome text")
    page.fill("#id_contents-0-text", SMS_FIXED)
    page.locator("input[name=_save]").click()
    page.wait_for_url(f"**/flow/{flow.pk}/change/")
    assert page.locator(".oc-problems").count() == 0
    page.locator("button.oc-tool", has_text="Activate").click()
    page.locator(".messagelist .success", has_text="1 flow activated.").wait_for()
    assert Flow.objects.get(pk=flow.pk).status == FlowStatus.ACTIVE
    assert page.locator("button.oc-tool", has_text="Pause").is_visible()

    # Step 5: a signup in the shop, with both opt-ins, and a popup subscription.
    shopper = open_page(viewport={"width": 1280, "height": 900})
    shopper.goto(live_server.url + reverse("signup"))
    shopper.fill("#id_username", "ann")
    shopper.fill("#id_email", "ann@example.com")
    shopper.fill("#id_password1", "a-long-pass-phrase-1")
    shopper.fill("#id_password2", "a-long-pass-phrase-1")
    shopper.fill("#id_phone", "+33 6 12 34 56 78")
    shopper.check("#id_email_offers")
    shopper.check("#id_sms_offers")
    shopper.locator("form button[type=submit], form input[type=submit]").last.click()
    shopper.wait_for_url("**/account/**")

    exit_popup()
    visitor = open_page()
    visit(visitor, live_server)
    leave_through_the_top(visitor)
    visitor.get_by_label("Email address").fill("bo@example.com")
    visitor.get_by_label("Yes, email me offers").check()
    visitor.get_by_role("button", name="Subscribe").click()
    visitor.locator("[data-oc-code]").wait_for()

    enrolled = dict(flow.enrollments.values_list("contact__email", "trigger"))
    assert enrolled == {"ann@example.com": "signup", "bo@example.com": "popup_subscribed"}
    run_the_due_work_for_four_days()
    received = sorted((channel, address) for channel, address, _parts, _uuid in outbox)
    assert received == [
        ("email", "ann@example.com"),
        ("email", "bo@example.com"),
        ("sms", "+33612345678"),
    ]
    by_step = set(
        Message.objects.filter(enrollment__flow=flow, status="sent").values_list(
            "contact__email", "step__name"
        )
    )
    assert by_step == {
        ("ann@example.com", "Welcome email"),
        ("ann@example.com", "Welcome text"),
        ("bo@example.com", "Welcome email"),
    }
    # Bo took the split's "no" path: the text was never even queued for him.
    assert not Message.objects.filter(contact__email="bo@example.com", channel="sms").exists()
    # (sent_at is the real clock's; scheduled_at is the engine's, moved by ``now=``.)
    due = dict(
        Message.objects.filter(contact__email="ann@example.com").values_list(
            "channel", "scheduled_at"
        )
    )
    assert due["sms"] - due["email"] >= timedelta(days=1)  # the split waits a day
    texts = [parts for channel, _address, parts, _uuid in outbox if channel == "sms"]
    assert texts[0]["text"] == SMS_FIXED
    subjects = {
        parts["subject"] for channel, _address, parts, _uuid in outbox if channel == "email"
    }
    assert subjects == {"Welcome to the shop"}

    # Step 6: the email Bo received, at a desktop's and a phone's width.
    html = next(
        parts["html"] for channel, address, parts, _uuid in outbox if address == "bo@example.com"
    )
    for width, name in [(700, "desktop"), (375, "mobile")]:
        reader = open_page(viewport={"width": width, "height": 1000})
        reader.set_content(html)
        assert reader.get_by_role("heading", name="Welcome, there").is_visible()
        assert reader.get_by_role("link", name="Visit the shop").is_visible()
        assert reader.get_by_role("link", name="Unsubscribe").is_visible()
        # Nothing sticks out sideways: no horizontal scrolling on a phone.
        assert reader.evaluate("document.documentElement.scrollWidth") <= width
        reader.screenshot(path=str(ARTIFACTS / f"studio-email-{name}.png"), full_page=True)
