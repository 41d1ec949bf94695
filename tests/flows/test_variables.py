"""Which variables a step provides, and what happens to one it cannot fill: validation
refuses activation naming the step and the variable, the preview marks it in place, the
picker lists exactly what the step provides, and the shipped flows use nothing else."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from omnichannel.flows import lifecycle, validation, variables
from omnichannel.flows.defaults import install_defaults
from omnichannel.flows.preview import preview_step, sample_contact
from omnichannel.models import Flow

from .conftest import make_flow

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "fr", "ru", "bg", "sk"]


def sms_step(text, **flow_fields):
    flow = make_flow(steps=[("Nudge", timedelta(0), "sms")], status="draft", **flow_fields)
    step = flow.steps.get()
    step.contents.update(text=text)
    return step


def offer(step):
    step.offer_kind, step.offer_value, step.offer_prefix = "percent", Decimal("10"), "HI"
    step.save()


def names(step):
    return [tag.name for tag in variables.step_tags(step)]


class TestWhatAStepProvides:
    def test_the_offer_and_the_cart_come_with_their_step_and_trigger(self):
        step = sms_step("hi")
        assert "contact.first_name" in names(step) and "shop.name" in names(step)
        assert "discount.code" not in names(step) and "cart.value" not in names(step)
        offer(step)
        assert "discount.code" in names(step)
        step.flow.trigger = "cart_abandoned"
        assert "cart.restore_url" in names(step)

    def test_by_trigger(self):
        step = sms_step("hi", trigger="popup_subscribed")
        assert "trigger.popup" in names(step) and "trigger.total" not in names(step)
        step.flow.trigger = "first_order"
        assert {"trigger.order", "trigger.total"} <= set(names(step))

    def test_the_shops_own_keys_are_listed(self, monkeypatch):
        adapter = variables.get_adapter()
        monkeypatch.setattr(adapter, "get_shop_context", lambda: {"name": "S", "hotline": "1"})
        assert "shop.hotline" in names(sms_step("hi"))


def problem_texts(flow):
    return [(p.text, p.blocking) for p in validation.problems(flow)]


class TestValidation:
    def test_a_discount_code_without_an_offer_blocks_activation_naming_step_and_variable(self):
        step = sms_step("Your code {{ discount.code }} is waiting")
        [(text, blocking)] = problem_texts(step.flow)
        assert blocking
        assert "Step 1 “Nudge”" in text and "{{ discount.code }}" in text
        assert "no offer" in text
        switched = lifecycle.activate([step.flow])
        assert switched.done == [] and switched.refused[0][0] == step.flow
        assert Flow.objects.get(pk=step.flow.pk).status == "draft"

    def test_with_an_offer_the_same_step_passes(self):
        step = sms_step("Your code {{ discount.code }} is waiting")
        offer(step)
        assert problem_texts(step.flow) == []

    def test_a_misspelt_name_blocks(self):
        step = sms_step("Hi {{ contact.frist_name }} {{ shpo.name }}")
        texts = [text for text, _blocking in problem_texts(step.flow)]
        assert len(texts) == 2
        assert "{{ contact.frist_name }}" in texts[0] and "no such variable" in texts[0]
        assert "{{ shpo.name }}" in texts[1]

    def test_a_cart_variable_in_a_flow_without_a_cart_blocks(self):
        step = sms_step("{{ cart.value|money:cart.currency }} left")
        texts = [text for text, _blocking in problem_texts(step.flow)]
        assert len(texts) == 2 and all("abandoned cart" in text for text in texts)
        step.flow.trigger = "cart_abandoned"
        step.flow.save()
        assert problem_texts(step.flow) == []

    def test_guarded_and_defaulted_variables_are_optional_but_must_exist(self):
        step = sms_step(
            "{% if discount %}Code {{ discount.code }}{% endif %}"
            '{{ discount.value|default:"" }}{% firstof discount.code "no code" %}'
        )
        assert problem_texts(step.flow) == []
        step.contents.update(
            text="{% if discount %}{{ discount.cod }}{% endif %}{% if cort %}x{% endif %}"
        )
        texts = [text for text, _blocking in problem_texts(step.flow)]
        assert len(texts) == 2
        assert "{{ discount.cod }}" in texts[0] and "{{ cort }}" in texts[1]

    def test_the_templates_own_names_are_not_the_contexts(self):
        step = sms_step(
            "{% for product in recommendations %}{{ product.name }}{{ forloop.counter }}"
            "{% endfor %}{% with name=contact.first_name %}{{ name }}{% endwith %}"
            '{% now "Y" as year %}{{ year }}'
        )
        assert problem_texts(step.flow) == []

    def test_a_profile_attribute_is_a_warning_not_a_refusal(self):
        step = sms_step("Born {{ contact.attributes.birth_year }}")
        [(text, blocking)] = problem_texts(step.flow)
        assert not blocking and "{{ contact.attributes.birth_year }}" in text
        step.contents.update(text="{% if contact.attributes.birth_year %}x{% endif %}")
        assert problem_texts(step.flow) == []

    def test_custom_event_properties_are_the_shops_own(self):
        step = sms_step("{{ trigger.product|default:'it' }}", trigger="custom_event")
        step.flow.trigger_event = "wishlist_added"
        step.flow.save()
        assert problem_texts(step.flow) == []
        step.flow.trigger = "signup"
        step.flow.save()
        step.contents.update(text="{{ trigger.product }}")
        [(text, blocking)] = problem_texts(step.flow)
        assert blocking and "does not carry it" in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_shipped_flows_use_only_what_their_steps_provide(language):
    with translation.override(language):
        installed = install_defaults(activate=True)
        for flow, _created in installed:
            assert validation.problems(flow) == [], flow
            flow.refresh_from_db()
            assert flow.status == "active"


class TestPreviewMarksWhatCannotBeFilled:
    def test_the_variable_is_marked_in_place_and_named_with_the_reason(self):
        step = sms_step("Your code {{ discount.code }} is waiting")
        [sms] = preview_step(step, sample_contact())
        [text] = sms.parts
        assert [(c.text, c.variable, c.unprovided) for c in text.chunks] == [
            ("Your code ", "", False),
            ("{{ discount.code }}", "discount.code", True),
            (" is waiting", "", False),
        ]
        [missing] = text.unprovided
        assert missing.tag == "{{ discount.code }}" and "no offer" in missing.reason
        assert sms.segments == 1  # counted without the mark

    def test_a_loop_over_a_cart_the_flow_has_not_shows_nothing(self):
        flow = make_flow(steps=[("Hello", timedelta(0), "email")], status="draft")
        step = flow.steps.get()
        step.contents.update(
            html="<ul>{% for line in cart.lines %}<li>{{ line.name }}</li>{% endfor %}</ul>"
            "{{ contact.pk }}"
        )
        [email] = preview_step(step, sample_contact())
        html = next(part for part in email.parts if part.name == "html")
        assert html.html.startswith("<ul></ul><mark")
        assert "{{ contact.pk }}</mark>" in html.html
        assert [u.tag for u in html.unprovided] == ["{{ cart.lines }}", "{{ contact.pk }}"]

    def test_a_value_only_this_contact_lacks_is_marked_but_not_as_a_fault(self):
        step = sms_step("Born {{ contact.attributes.birth_year }}")
        [sms] = preview_step(step, sample_contact())
        [chunk] = [c for c in sms.parts[0].chunks if c.variable]
        assert chunk.text == "{{ contact.attributes.birth_year }}" and not chunk.unprovided
