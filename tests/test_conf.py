import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from omnichannel.conf import DEFAULTS, PARSERS, omnichannel_settings
from omnichannel.integrations import ShopAdapter
from omnichannel.models import Contact
from omnichannel.outbox import policy
from omnichannel.setting_types import SendWindow

SETTINGS = settings.OMNICHANNEL  # tests/settings.py


def test_defaults_apply_for_keys_not_set():
    assert omnichannel_settings.PURCHASE_ORDER_STATUSES is DEFAULTS["PURCHASE_ORDER_STATUSES"]
    assert omnichannel_settings.SESSION_KEY == "omnichannel"


def test_user_value_wins_over_default():
    assert omnichannel_settings.DEFAULT_CURRENCY == "EUR"  # tests/settings.py


def test_dotted_path_is_imported():
    adapter_class = omnichannel_settings.SHOP_ADAPTER
    assert isinstance(adapter_class, type) and issubclass(adapter_class, ShopAdapter)


def test_override_settings_reloads():
    assert omnichannel_settings.DEFAULT_CURRENCY == "EUR"
    with override_settings(OMNICHANNEL={"SHOP_ADAPTER": None, "DEFAULT_CURRENCY": "GBP"}):
        assert omnichannel_settings.DEFAULT_CURRENCY == "GBP"
        assert omnichannel_settings.SHOP_ADAPTER is None
    assert omnichannel_settings.DEFAULT_CURRENCY == "EUR"


def test_unknown_key_is_refused_with_a_hint():
    with (
        override_settings(OMNICHANNEL={"DEFAULT_CURENCY": "GBP"}),
        pytest.raises(ImproperlyConfigured, match="Did you mean 'DEFAULT_CURRENCY'"),
    ):
        omnichannel_settings.DEFAULT_CURRENCY  # noqa: B018


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError):
        omnichannel_settings.NOT_A_SETTING  # noqa: B018


def test_bad_dotted_path_names_the_setting():
    with (
        override_settings(OMNICHANNEL={"SHOP_ADAPTER": "nowhere.Adapter"}),
        pytest.raises(ImproperlyConfigured, match=r"OMNICHANNEL\['SHOP_ADAPTER'\]"),
    ):
        omnichannel_settings.SHOP_ADAPTER  # noqa: B018


def test_settings_must_be_a_dict():
    with (
        override_settings(OMNICHANNEL=["SHOP_ADAPTER"]),
        pytest.raises(ImproperlyConfigured, match="must be a dict"),
    ):
        omnichannel_settings.DEFAULT_CURRENCY  # noqa: B018


# --- every value is parsed once --------------------------------------------------------


def test_every_setting_has_a_parser():
    assert set(PARSERS) == set(DEFAULTS)


def test_every_default_is_valid():
    with override_settings(OMNICHANNEL={}):
        assert [p for p in omnichannel_settings.problems() if p.id != "omnichannel.E001"] == []


def test_send_windows_are_read_as_times_and_weekdays():
    windows = {"sms": {"fr": {"start": "10:30", "end": "19:00", "days": [0, 1, 2, 3, 4]}}}
    with override_settings(OMNICHANNEL={**SETTINGS, "SEND_WINDOWS": windows}):
        window = omnichannel_settings.SEND_WINDOWS["sms"]["FR"]  # the code looks up "FR"
    assert window == SendWindow(dt.time(10, 30), dt.time(19), frozenset(range(5)))


def test_a_lowercase_country_key_applies_to_that_country():
    windows = {"sms": {"fr": {"start": "09:00", "end": "20:00"}}}
    contact = Contact(phone="+33612345678")
    with override_settings(OMNICHANNEL={**SETTINGS, "SEND_WINDOWS": windows}):
        assert policy.window_for(contact, "sms") is not None


def test_caps_keep_fractional_hours_and_default_to_defer():
    caps = {"all": {"count": 2, "hours": 0.5}}
    with override_settings(OMNICHANNEL={**SETTINGS, "FREQUENCY_CAPS": caps}):
        cap = omnichannel_settings.FREQUENCY_CAPS["all"]
    assert (cap.count, cap.window, cap.action) == (2, dt.timedelta(minutes=30), "defer")


def test_minimum_cart_values_are_decimals():
    with override_settings(OMNICHANNEL={**SETTINGS, "CHANNEL_MIN_CART_VALUE": {"sms": 49.9}}):
        minimums = omnichannel_settings.CHANNEL_MIN_CART_VALUE
    assert minimums == {"sms": Decimal("49.9")}


def test_partial_dicts_keep_the_other_defaults():
    configured = {
        **SETTINGS,
        "RETENTION_DAYS": {"messages": 1095},
        "POPUP_RATE_LIMITS": {"subscribe_per_ip": None},
    }
    with override_settings(OMNICHANNEL=configured):
        retention = omnichannel_settings.RETENTION_DAYS
        assert retention == {**DEFAULTS["RETENTION_DAYS"], "messages": 1095}
        assert omnichannel_settings.POPUP_RATE_LIMITS["subscribe_per_ip"] is None
        assert omnichannel_settings.POPUP_RATE_LIMITS["events_per_ip"] == "120/hour"


def test_a_bad_value_raises_naming_it_and_what_to_write():
    windows = {"sms": {"*": {"start": "20:00", "end": "09:00"}}}
    with (
        override_settings(OMNICHANNEL={**SETTINGS, "SEND_WINDOWS": windows}),
        pytest.raises(ImproperlyConfigured) as raised,
    ):
        omnichannel_settings.SEND_WINDOWS  # noqa: B018
    message = str(raised.value)
    assert "OMNICHANNEL['SEND_WINDOWS']['sms']['*']" in message and "never opens" in message
    assert '"start": "09:00", "end": "20:00"' in message and "omnichannel.E013" in message


# --- the flow sweeper and the cart detection have their own settings ------------------


def test_the_new_loop_settings_fall_back_to_the_old_names_for_one_release():
    configured = {**SETTINGS, "DISPATCH_BATCH_SIZE": 50, "DISPATCH_LEASE_SECONDS": 30}
    with override_settings(OMNICHANNEL=configured):
        assert omnichannel_settings.FLOW_BATCH_SIZE == 50
        assert omnichannel_settings.CART_DETECTION_BATCH_SIZE == 50
        assert omnichannel_settings.FLOW_LEASE_SECONDS == 30
        assert omnichannel_settings.FLOW_TIME_BUDGET_SECONDS == 20  # not set: the default


def test_a_new_loop_setting_wins_over_its_old_name():
    configured = {**SETTINGS, "DISPATCH_BATCH_SIZE": 50, "FLOW_BATCH_SIZE": 10}
    with override_settings(OMNICHANNEL=configured):
        assert omnichannel_settings.FLOW_BATCH_SIZE == 10
        assert omnichannel_settings.DISPATCH_BATCH_SIZE == 50
        assert omnichannel_settings.CART_DETECTION_BATCH_SIZE == 50


def test_a_bad_old_value_is_named_where_it_was_set():
    with override_settings(OMNICHANNEL={**SETTINGS, "DISPATCH_BATCH_SIZE": 0}):
        problems = omnichannel_settings.problems()
    assert [p.message for p in problems] == [
        "OMNICHANNEL['DISPATCH_BATCH_SIZE'] is 0; it must be a whole number, at least 1."
    ]
