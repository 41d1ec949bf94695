"""A step's contents, one editor per channel: each channel's fields in its own fieldset,
and the SMS counter's alphabet and rates taken from the Python side."""

import html
import json
from datetime import timedelta
from decimal import Decimal

import pytest

from omnichannel.channels import sms_segments
from omnichannel.models import ChannelCost

from .conftest import make_flow
from .test_admin import step_data, step_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms_step():
    step = make_flow(steps=[("Nudge", timedelta(0), "sms")], status="draft").steps.get()
    step.contents.update(text="Your cart misses you")
    return step


def attribute(page, name):
    start = page.index(f'{name}="') + len(name) + 2
    return html.unescape(page[start : page.index('"', start)])


def test_each_channels_fields_sit_in_fieldsets_marked_with_their_channels(admin_client, sms_step):
    page = admin_client.get(step_url(sms_step)).content.decode()
    for classes, field in [
        ("oc-channel oc-for-email", "contents-0-subject"),
        ("oc-channel oc-for-whatsapp", "contents-0-content_sid"),
        ("oc-channel oc-for-email oc-for-sms oc-for-whatsapp", "contents-0-text"),
        ("oc-channel oc-for-email", "contents-0-html"),
        ("oc-channel oc-for-push oc-for-inbox", "contents-0-title"),
        ("oc-channel oc-for-push", "contents-0-icon"),
    ]:
        fieldset = page.rindex("<fieldset", 0, page.index(f'name="{field}"'))
        assert f'class="module aligned {classes}"' in page[fieldset : fieldset + 120], field
    assert "omnichannel/admin/step_content.js" in page


def test_the_sms_counter_counts_with_the_python_alphabet_and_the_known_rates(
    admin_client, sms_step
):
    ChannelCost.objects.create(channel="sms", country="", amount=Decimal("0.075"), currency="EUR")
    ChannelCost.objects.create(channel="sms", country="FR", amount=Decimal("0.08"), currency="EUR")
    ChannelCost.objects.create(channel="email", amount=Decimal("0.001"), currency="EUR")
    page = admin_client.get(step_url(sms_step)).content.decode()
    assert set(json.loads(attribute(page, "data-gsm-basic"))) == sms_segments.GSM_BASIC
    assert set(json.loads(attribute(page, "data-gsm-extended"))) == sms_segments.GSM_EXTENDED
    assert json.loads(attribute(page, "data-rates")) == [
        {"where": "any country", "amount": "0.07500", "currency": "EUR"},
        {"where": "FR", "amount": "0.08000", "currency": "EUR"},
    ]
    assert attribute(page, "data-budget") == "2"


def test_line_breaks_are_stored_as_one_character(admin_client, sms_step):
    content = sms_step.contents.get()
    data = step_data(
        sms_step,
        contents=[{"id": str(content.pk), "channel": "sms", "text": "Hi\r\nYour cart\r\nBye"}],
        **{"contents-INITIAL_FORMS": "1"},
    )
    response = admin_client.post(step_url(sms_step), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    content.refresh_from_db()
    assert content.text == "Hi\nYour cart\nBye"
