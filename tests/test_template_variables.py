"""The variables a message's templates use, read from the compiled template, and a
message that uses one its context does not hold: failed with the reason, never sent with
a hole."""

import pytest

from omnichannel.models import Message
from omnichannel.models.consent import Purpose
from omnichannel.models.messages import MessageStatus
from omnichannel.outbox.dispatch import sweep
from omnichannel.outbox.queueing import enqueue
from omnichannel.outbox.rendering import MissingVariable, render_message, uses_of
from omnichannel.testing.factories import ContactFactory


def uses(source):
    return [(use.name, use.optional, use.condition) for use in uses_of(source, False)]


class TestWhatATemplateUses:
    def test_variables_and_filter_arguments(self):
        assert uses("{{ cart.value|money:cart.currency }} {{ a|default:b }}") == [
            ("cart.value", False, False),
            ("cart.currency", False, False),
            ("a", True, False),
            ("b", False, False),
        ]

    def test_an_if_guards_the_name_it_tests_and_only_that_one(self):
        found = uses(
            "{% if discount and cart %}{{ discount.code }}{{ cart.value }}{{ shop.name }}"
            "{% elif not step %}{{ step.name }}{% else %}{{ discount.code }}{% endif %}"
        )
        assert found == [
            ("discount", False, True),
            ("cart", False, True),
            ("discount.code", True, False),
            ("cart.value", True, False),
            ("shop.name", False, False),
            ("step", False, True),
            ("step.name", False, False),  # `not step` proves nothing present
            ("discount.code", False, False),  # the else branch has no discount guard
        ]

    def test_names_the_template_binds_are_its_own(self):
        found = uses(
            "{% for line in cart.lines %}{{ line.name }}{{ forloop.counter }}{% empty %}"
            "{{ line }}{% endfor %}{% with total=cart.value %}{{ total }}{% endwith %}"
            '{% cycle "a" "b" as colour %}{{ colour }}{% if x == None %}{% endif %}'
        )
        assert found == [
            ("cart.lines", False, False),
            ("line", False, False),  # outside the loop body, `line` is the context's
            ("cart.value", False, False),
            ("x", False, True),
        ]

    def test_block_tags_see_only_the_contexts_names(self):
        found = uses(
            "{% filter upper|cut:shop.name %}{{ contact.first_name }}{% endfilter %}"
            "{% regroup cart.lines by name as groups %}{% for g in groups %}{{ g.grouper }}"
            "{% endfor %}{% comment %}{{ draft }}{% endcomment %}"
        )
        assert found == [
            ("shop.name", False, False),
            ("contact.first_name", False, False),
            ("cart.lines", False, False),
        ]

    def test_firstof_lists_fallbacks(self):
        assert uses('{% firstof discount.code shop.name "" %}') == [
            ("discount.code", True, False),
            ("shop.name", True, False),
        ]


@pytest.mark.django_db
class TestSendTime:
    def test_a_missing_variable_fails_the_message_with_the_reason(self, locmem_channels):
        contact = ContactFactory(phone="+33612345678")
        message, _created = enqueue(
            contact,
            "sms",
            {"text": "Your code {{ discount.code }} is waiting"},
            idempotency_key="hole",
            purpose=Purpose.TRANSACTIONAL,
        )
        sweep()
        message.refresh_from_db()
        assert locmem_channels == []
        assert message.status == MessageStatus.FAILED
        assert "the content uses {{ discount.code }}, which this message does not provide" in (
            message.last_error
        )

    def test_what_the_template_guards_renders_as_django_renders_it(self):
        message = Message(
            contact=ContactFactory(first_name=""),
            channel="sms",
            content={
                "text": "{% if discount %}{{ discount.code }}{% endif %}"
                '{{ contact.first_name|default:"friend" }}'
            },
        )
        assert render_message(message) == {"text": "friend"}

    def test_the_documented_shop_keys_are_always_there(self, monkeypatch):
        from omnichannel.outbox.rendering import get_adapter

        monkeypatch.setattr(get_adapter(), "get_shop_context", lambda: {})
        message = Message(
            contact=ContactFactory(),
            channel="sms",
            content={"text": "[{{ shop.name }}{{ shop.address }}{{ shop.url }}]"},
        )
        assert render_message(message) == {"text": "[]"}

    def test_the_part_that_fails_names_its_missing_variables(self):
        message = Message(
            contact=ContactFactory(),
            channel="email",
            content={"subject": "{{ cart.value }}{{ cart.currency }}", "text": "{{ frist }}"},
        )
        with pytest.raises(MissingVariable) as raised:
            render_message(message)
        assert raised.value.tags == ["{{ cart.value }}", "{{ cart.currency }}"]
