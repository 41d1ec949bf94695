"""The shipped welcome series: installed idempotently, and its content works as sent."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from omnichannel.channels.sms_segments import segments
from omnichannel.flows import validation
from omnichannel.flows.defaults import DEFAULT_FLOWS, install_defaults
from omnichannel.flows.engine import advance_due, trigger
from omnichannel.flows.preview import template_context
from omnichannel.models import Flow, Message, Step, StepContent
from omnichannel.outbox.rendering import render_message
from omnichannel.testing.factories import ContactFactory
from sample_shop.shop.models import DiscountCode, Product

pytestmark = pytest.mark.django_db


def installed(slug, **options):
    [(flow, created)] = [pair for pair in install_defaults(**options) if pair[0].slug == slug]
    assert created
    return flow


def installed_welcome(**options):
    return installed("welcome", **options)


class TestInstalling:
    def test_the_welcome_series_is_a_draft_started_by_signup_until_an_order(self):
        flow = installed_welcome()
        assert (flow.slug, flow.trigger, flow.kind) == ("welcome", "signup", "welcome")
        assert (flow.status, flow.activated_at, flow.exit_goals) == ("draft", None, ["ordered"])
        steps = list(flow.steps.order_by("position"))
        assert [(s.channel, s.delay) for s in steps] == [
            ("email", timedelta(0)),
            ("best", timedelta(days=4)),
            ("email", timedelta(days=2)),
        ]
        assert {
            (s.offer_kind, s.offer_value, s.offer_prefix, s.offer_valid_for) for s in steps
        } == {("percent", Decimal("10"), "WELCOME", timedelta(days=7))}
        channels = [
            sorted(s.contents.filter(locale="").values_list("channel", flat=True)) for s in steps
        ]
        assert channels == [["email"], ["inbox", "push", "sms"], ["email"]]

    def test_installing_again_keeps_what_staff_changed(self):
        flow = installed_welcome()
        Step.objects.filter(flow=flow, position=0).update(name="Our story")
        Flow.objects.filter(pk=flow.pk).update(status="paused")

        assert (flow, False) in install_defaults(activate=True)
        assert Flow.objects.count() == len(DEFAULT_FLOWS) and flow.steps.count() == 3
        assert Flow.objects.get(slug="welcome").status == "paused"
        assert Step.objects.get(flow=flow, position=0).name == "Our story"

    def test_activate_makes_it_enrol_from_now(self):
        before = timezone.now()
        flow = installed_welcome(activate=True)
        assert flow.status == "active" and flow.activated_at >= before

    def test_activate_goes_through_the_activation_guard(self, monkeypatch, capsys):
        refusal = validation.Problem("Step 1 has no subject.")
        monkeypatch.setattr(validation, "blocking", lambda flow: [refusal])
        call_command("omnichannel_install_defaults", "--activate")
        assert set(Flow.objects.values_list("status", "activated_at")) == {("draft", None)}
        assert "Flow 'welcome' was not activated: Step 1 has no subject." in capsys.readouterr().err

    def test_fast_turns_days_into_minutes(self):
        flow = installed_welcome(fast=True)
        delays = list(flow.steps.order_by("position").values_list("delay", "offer_valid_for"))
        assert delays == [
            (timedelta(0), timedelta(minutes=7)),
            (timedelta(minutes=4), timedelta(minutes=7)),
            (timedelta(minutes=2), timedelta(minutes=7)),
        ]
        assert "a day is a minute" in flow.name

    def test_the_command(self, capsys):
        call_command("omnichannel_install_defaults", "--activate", "--fast")
        call_command("omnichannel_install_defaults")
        out = capsys.readouterr().out
        assert "Created flow 'welcome' (active)." in out
        assert "Flow 'welcome' exists: left as it is." in out
        welcome = Flow.objects.get(slug="welcome")
        assert welcome.steps.get(position=1).delay == timedelta(minutes=4)

    def test_an_earlier_install_keeps_its_hand_written_html(self):
        """Shops that installed the journey flows when they shipped hand-written HTML keep
        their (edited) emails: installing again only adds the flows that are missing."""
        flow = installed("review-request")
        email = StepContent.objects.get(step__flow=flow, channel="email", locale="")
        html = '<p>Our own words</p><a href="{{ unsubscribe_url }}">Stop</a>'
        email.blocks, email.html, email.text = [], html, "Our own words"
        email.save()
        Flow.objects.filter(slug="win-back").delete()

        created = {flow.slug for flow, was_created in install_defaults() if was_created}
        assert created == {"win-back"}
        email.refresh_from_db()
        assert (email.blocks, email.html, email.text) == ([], html, "Our own words")


class TestTheSeriesAsSent:
    @pytest.fixture
    def ann(self):
        Product.objects.create(name="Stoneware mug", slug="mug", price=Decimal("18"), sku="MUG")
        return ContactFactory(first_name="Ann", phone="+33612345678", consents=["email", "sms"])

    @pytest.fixture
    def sent(self, ann, locmem_channels):
        """The rendered messages of the three steps, advanced at their due times."""
        installed_welcome(activate=True)
        start = timezone.now()
        trigger("signup", ann, key=f"signup:{ann.pk}", triggered_at=start)
        for at in (start, start + timedelta(days=4), start + timedelta(days=6)):
            advance_due(now=at + timedelta(seconds=1))
        messages = Message.objects.order_by("step__position")
        return [(m.channel, render_message(m)) for m in messages]

    def test_each_step_goes_out_on_its_channel(self, sent):
        assert [channel for channel, _rendered in sent] == ["email", "sms", "email"]

    def test_one_code_all_along(self, sent):
        [code] = DiscountCode.objects.values_list("code", flat=True)
        assert code.startswith("WELCOME")
        for _channel, rendered in sent:
            assert code in (rendered.get("html", "") + rendered.get("text", ""))

    def test_the_introduction(self, sent, ann):
        rendered = sent[0][1]
        assert rendered["subject"] == "Welcome to Sample Shop, Ann"
        for part in (rendered["text"], rendered["html"]):
            assert "10 % off your first order" in part
            assert "Stoneware mug" in part  # the recommendations
            assert "Sample Shop, 1 Demo Street, 75001 Paris, France" in part  # CAN-SPAM
        links = re.findall(r'href="([^"]+)"', rendered["html"])
        assert any("/omnichannel/unsubscribe/" in link for link in links)
        assert any("/omnichannel/preferences/" in link for link in links)
        # Nothing to fetch but the products' own pictures: no web font, no stylesheet.
        assert "<link" not in rendered["html"]

    def test_the_sms_reminder_is_one_segment_with_the_stop_word(self, sent):
        text = sent[1][1]["text"]
        assert segments(text) == 1 and text.endswith("Reply STOP to opt out")

    def test_the_last_nudge_names_the_expiry_date(self, sent):
        expiry = DiscountCode.objects.get().expires_at.date().isoformat()
        assert expiry in sent[2][1]["subject"]


def test_every_part_renders_for_a_stranger_and_escapes_what_they_typed():
    """No first name, no recommendations, a name with markup: the copy still reads."""
    installed_welcome(activate=True)
    contact = ContactFactory(first_name="<b>Bo</b>", consents=["email"])
    context = {
        "discount": {"code": "WELCOME1", "value": "10.00", "expires_at": "2030-01-31T10:00:00"}
    }
    for content in StepContent.objects.filter(step__flow__slug="welcome"):
        message = Message(
            contact=contact, channel=content.channel, content=content.as_message_content()
        )
        message.context = context
        rendered = render_message(message)
        assert "<b>Bo</b>" not in rendered.get("html", "")
        assert "2030-01-31" in " ".join(str(v) for v in rendered.values())
    stranger = ContactFactory(consents=["email"])
    intro = StepContent.objects.get(step__flow__slug="welcome", step__position=0, locale="")
    message = Message(contact=stranger, channel="email", content=intro.as_message_content())
    message.context = context
    assert render_message(message)["subject"] == "Welcome to Sample Shop, there"


class TestCartRecovery:
    def test_shape_a_reminder_then_a_code_by_email_and_by_text_for_big_carts(self):
        flow = installed("cart-recovery")
        assert (flow.kind, flow.trigger, flow.exit_goals) == (
            "cart_recovery",
            "cart_abandoned",
            ["ordered", "cart_emptied"],
        )
        steps = list(flow.steps.order_by("position"))
        assert [(s.channel, s.delay, s.offer_kind, s.min_cart_value) for s in steps] == [
            ("best", timedelta(hours=1), "", None),
            ("email", timedelta(hours=23), "percent", None),
            ("best", timedelta(0), "percent", Decimal("50")),
            ("email", timedelta(days=2), "percent", None),
        ]
        channels = [
            sorted(s.contents.filter(locale="").values_list("channel", flat=True)) for s in steps
        ]
        assert channels == [["email", "inbox", "push"], ["email"], ["sms"], ["email"]]
        assert validation.problems(flow) == []

    def test_every_part_shows_the_cart_and_its_restore_link(self):
        installed("cart-recovery", activate=True)
        contact = ContactFactory(first_name="Ann", consents=["email"])
        restore = "https://shop.example.com/omnichannel/cart/TOKEN/"
        context = {
            "cart": {
                "lines": [{"name": "<i>Mug</i>", "quantity": 2, "unit_price": "12.50"}],
                "item_count": 2,
                "value": "25.00",
                "currency": "EUR",
                "restore_url": restore,
            },  # fmt: skip
            "discount": {"code": "BACK1", "value": "10.00", "expires_at": "2030-01-31T10:00:00"},
        }
        for content in StepContent.objects.filter(step__flow__slug="cart-recovery"):
            message = Message(
                contact=contact, channel=content.channel, content=content.as_message_content()
            )
            message.context = context
            rendered = render_message(message)
            everything = " ".join(str(v) for v in rendered.values())
            assert restore in everything, content
            assert "<i>Mug</i>" not in rendered.get("html", "")
            if content.channel == "sms":
                assert segments(rendered["text"]) <= 2


# One sentence of the introduction in each shipped language: the content is really theirs.
WELCOME_WORDS = {
    "": "Thank you for joining Sample Shop.",
    "fr": "Merci de nous avoir rejoints chez Sample Shop.",
    "ru": "Спасибо, что присоединились к Sample Shop.",
    "bg": "Благодарим ви, че се присъединихте към Sample Shop.",
    "sk": "Ďakujeme, že ste sa pridali k Sample Shop.",
}


SHIP_ADDRESS = "Sample Shop, 1 Demo Street, 75001 Paris, France"
EMAIL_STEPS = [
    (spec.slug, position)
    for spec in DEFAULT_FLOWS
    for position, step in enumerate(spec.steps)
    if "email" in step.contents
]


@pytest.mark.parametrize("locale", ["", "fr", "ru", "bg", "sk"])
def test_every_shipped_email_is_blocks_and_renders_in_each_language(locale):
    """Every email of every shipped flow is built from blocks (editable in the block
    editor, in the shop's brand), exists in each shipped language, renders with the
    preview's sample context without a hole, and carries the way out and the address."""
    install_defaults()
    contents = StepContent.objects.filter(channel="email", locale=locale).select_related(
        "step__flow"
    )
    assert sorted((c.step.flow.slug, c.step.position) for c in contents) == sorted(EMAIL_STEPS)
    contact = ContactFactory(first_name="Zoë", locale=locale or "en", consents=["email"])
    for content in contents:
        assert content.blocks and not content.html and not content.text, content
        message = Message(contact=contact, channel="email", content=content.as_message_content())
        message.context = template_context(content.step, contact, content)
        rendered = render_message(message)  # raises MissingVariable on a hole
        html, text = rendered["html"], rendered["text"]
        links = re.findall(r'href="([^"]+)"', html)
        assert any("/omnichannel/unsubscribe/" in link for link in links), content
        assert "/omnichannel/unsubscribe/" in text, content
        assert SHIP_ADDRESS in html and SHIP_ADDRESS in text, content
        assert "Zoë" in html and "Zoë" in text
        assert "{{" not in html + text + rendered["subject"]
        assert f'<html lang="{locale or "en"}"' in html
        if locale:
            english = content.step.contents.get(channel="email", locale="")
            assert content.subject != english.subject, content
        if content.step.position == 0 and content.step.flow.slug == "welcome":
            assert WELCOME_WORDS[locale] in html and WELCOME_WORDS[locale] in text


def test_every_shipped_flow_passes_its_validation():
    """What activating checks (content that renders for a sample contact, nothing
    marketing in the transactional thank-you)."""
    for flow, _created in install_defaults():
        assert validation.problems(flow) == [], flow.slug


def test_the_default_content_is_in_the_shops_language(settings):
    settings.LANGUAGE_CODE = "fr"
    install_defaults()
    intro = StepContent.objects.filter(step__flow__slug="welcome", step__position=0)
    assert sorted(intro.values_list("locale", flat=True)) == ["", "bg", "en", "ru", "sk"]
    assert intro.get(locale="").subject.startswith("Bienvenue chez {{ shop.name }}")
    assert intro.get(locale="en").subject.startswith("Welcome to {{ shop.name }}")
