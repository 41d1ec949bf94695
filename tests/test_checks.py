from celery import current_app
from django.conf import settings
from django.core.checks import run_checks
from django.test import override_settings

ADAPTER = "sample_shop.shop.omnichannel_adapter.SampleShopAdapter"


def omnichannel_ids():
    return sorted(m.id for m in run_checks(tags=["omnichannel"]))


def test_clean_configuration_has_no_messages():
    assert omnichannel_ids() == []


@override_settings(OMNICHANNEL={})
def test_missing_adapter_is_e001():
    assert omnichannel_ids() == ["omnichannel.E001"]


@override_settings(OMNICHANNEL={"SHOP_ADAPTER": "no.such.Adapter"})
def test_unimportable_adapter_is_e002():
    assert omnichannel_ids() == ["omnichannel.E002"]


@override_settings(OMNICHANNEL={"SHOP_ADAPTER": "decimal.Decimal"})
def test_adapter_of_wrong_type_is_e002():
    messages = run_checks(tags=["omnichannel"])
    assert [m.id for m in messages] == ["omnichannel.E002"]
    assert "not a ShopAdapter subclass" in messages[0].msg


@override_settings(
    OMNICHANNEL={"SHOP_ADAPTER": ADAPTER, "CHANNEL_BACKENDS": {"fax": "decimal.Decimal"}}
)
def test_unknown_channel_is_e003():
    assert omnichannel_ids() == ["omnichannel.E003"]


@override_settings(
    OMNICHANNEL={"SHOP_ADAPTER": ADAPTER, "CHANNEL_BACKENDS": {"sms": "missing.module.Backend"}}
)
def test_unimportable_backend_is_e004():
    messages = run_checks(tags=["omnichannel"])
    assert [m.id for m in messages] == ["omnichannel.E004"]
    assert "pip install" in messages[0].hint


def test_eager_celery_in_production_is_w001(monkeypatch):
    monkeypatch.setitem(current_app.conf, "task_always_eager", True)
    assert omnichannel_ids() == ["omnichannel.W001"]
    with override_settings(DEBUG=True):
        assert omnichannel_ids() == []


def test_missing_session_middleware_is_w002():
    middleware = [m for m in settings.MIDDLEWARE if "SessionMiddleware" not in m]
    with override_settings(MIDDLEWARE=middleware):
        assert "omnichannel.W002" in omnichannel_ids()
