import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from omnichannel.conf import DEFAULTS, omnichannel_settings
from omnichannel.integrations import ShopAdapter


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
