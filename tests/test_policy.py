"""Channel choice and content rendering."""

from decimal import Decimal

import pytest

from omnichannel.contacts.consent import grant_consent, suppress
from omnichannel.models import PushSubscription
from omnichannel.outbox.policy import Reach, choose_channel, preferred_channels
from omnichannel.outbox.rendering import render_content
from omnichannel.testing.factories import ContactFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locmem_channels")]


@pytest.fixture
def reachable():
    """A French contact reachable on email, SMS and push, with consent on all three."""
    contact = ContactFactory(phone="+33612345678", consents=["email", "sms", "push"])
    PushSubscription.objects.create(
        contact=contact, endpoint="https://push.example.com/1", p256dh="k", auth="a"
    )
    return contact


def test_shop_order_applies_by_default(reachable):
    assert choose_channel(reachable) == "email"


def test_the_contact_preference_comes_first(reachable):
    reachable.attributes = {"preferred_channels": ["sms"]}
    assert choose_channel(reachable) == "sms"


def test_country_preferences(reachable, settings):
    settings.OMNICHANNEL = {
        **settings.OMNICHANNEL,
        "CHANNEL_PREFERENCES": {"FR": ["push", "email"], "*": ["email"]},
    }
    assert preferred_channels(reachable)[:2] == ["push", "email"]  # country from the phone
    assert choose_channel(reachable) == "push"


def test_channels_without_consent_or_address_are_skipped(reachable):
    reachable.attributes = {"preferred_channels": ["whatsapp", "sms"]}
    assert choose_channel(reachable) == "sms"  # no WhatsApp consent
    no_phone = ContactFactory(consents=["sms", "email"])
    no_phone.attributes = {"preferred_channels": ["sms"]}
    assert choose_channel(no_phone) == "email"


def test_suppressed_channel_is_skipped(reachable):
    suppress("email", reachable.email, "bounce")
    assert choose_channel(reachable) == "push"


def test_a_batch_reach_answers_as_one_contact_at_a_time(reachable):
    """Read for several contacts at once, each contact sees only its own suppressions."""
    other = ContactFactory(phone="+33698765432", consents=["email", "sms"])
    suppress("email", reachable.email, "bounce")
    reach = Reach([reachable, other])
    assert choose_channel(reachable, reach=reach) == choose_channel(reachable) == "push"
    assert choose_channel(other, reach=reach) == choose_channel(other) == "email"


def test_candidates_limit_the_choice(reachable):
    assert choose_channel(reachable, candidates=["sms", "whatsapp"]) == "sms"
    assert choose_channel(reachable, candidates=["whatsapp"]) is None


def test_costly_channels_wait_for_valuable_carts(reachable, settings):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "CHANNEL_MIN_CART_VALUE": {"sms": 50}}
    reachable.attributes = {"preferred_channels": ["sms", "email"]}
    assert choose_channel(reachable, cart_value=Decimal("20")) == "email"
    assert choose_channel(reachable, cart_value=Decimal("80")) == "sms"


def test_transactional_choice_needs_no_marketing_consent():
    contact = ContactFactory()
    assert choose_channel(contact) is None
    assert choose_channel(contact, purpose="transactional") == "email"
    grant_consent(contact, "email", purpose="transactional")
    assert choose_channel(contact, purpose="transactional") == "email"


def test_html_is_escaped_and_text_is_not():
    context = {"name": "Tom & <b>Jerry</b>"}
    rendered = render_content(
        {"html": "<p>{{ name }}</p>", "text": "Hi {{ name }}", "variables": {"1": "x"}}, context
    )
    assert rendered["html"] == "<p>Tom &amp; &lt;b&gt;Jerry&lt;/b&gt;</p>"
    assert rendered["text"] == "Hi Tom & <b>Jerry</b>"
    assert rendered["variables"] == {"1": "x"}
