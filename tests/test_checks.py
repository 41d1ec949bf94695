import ast
import io

from celery import current_app
from django.conf import settings
from django.core.checks import run_checks
from django.core.management import call_command
from django.test import override_settings

ADAPTER = "sample_shop.shop.omnichannel_adapter.SampleShopAdapter"
BASE_URL = "https://shop.example.com"
# A configuration with nothing to report, for the tests to break one thing in.
VALID = {"SHOP_ADAPTER": ADAPTER, "PUBLIC_BASE_URL": BASE_URL}


def omnichannel_ids():
    return sorted(m.id for m in run_checks(tags=["omnichannel"]))


def test_clean_configuration_has_no_messages():
    assert omnichannel_ids() == []


@override_settings(OMNICHANNEL={"PUBLIC_BASE_URL": BASE_URL})
def test_missing_adapter_is_e001():
    assert omnichannel_ids() == ["omnichannel.E001"]


@override_settings(OMNICHANNEL={**VALID, "SHOP_ADAPTER": "no.such.Adapter"})
def test_unimportable_adapter_is_e002():
    assert omnichannel_ids() == ["omnichannel.E002"]


@override_settings(OMNICHANNEL={**VALID, "SHOP_ADAPTER": "decimal.Decimal"})
def test_adapter_of_wrong_type_is_e002():
    messages = run_checks(tags=["omnichannel"])
    assert [m.id for m in messages] == ["omnichannel.E002"]
    assert "not a ShopAdapter subclass" in messages[0].msg


@override_settings(OMNICHANNEL={**VALID, "CHANNEL_BACKENDS": {"fax": "decimal.Decimal"}})
def test_unknown_channel_is_e003():
    assert omnichannel_ids() == ["omnichannel.E003"]


@override_settings(OMNICHANNEL={**VALID, "CHANNEL_BACKENDS": {"sms": "missing.module.Backend"}})
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


WEBPUSH = {"push": "omnichannel.channels.webpush.WebPushBackend"}


@override_settings(OMNICHANNEL={**VALID, "CHANNEL_BACKENDS": WEBPUSH})
def test_web_push_without_vapid_keys_is_e006():
    messages = run_checks(tags=["omnichannel"])
    assert [m.id for m in messages] == ["omnichannel.E006"]
    assert "VAPID_PUBLIC_KEY" in messages[0].msg and "VAPID_SUBJECT" in messages[0].msg
    assert "manage.py omnichannel_vapid_keys" in messages[0].hint


def generated_vapid_keys():
    out = io.StringIO()
    call_command("omnichannel_vapid_keys", stdout=out, stderr=io.StringIO())
    return ast.literal_eval("{" + out.getvalue() + "}")


def test_web_push_with_a_mismatched_key_pair_is_e006():
    ours, theirs = generated_vapid_keys(), generated_vapid_keys()
    configured = {**VALID, "CHANNEL_BACKENDS": WEBPUSH, **ours}
    configured["VAPID_SUBJECT"] = "mailto:shop@example.com"
    with override_settings(OMNICHANNEL=configured):
        assert omnichannel_ids() == []
    with override_settings(
        OMNICHANNEL={**configured, "VAPID_PUBLIC_KEY": theirs["VAPID_PUBLIC_KEY"]}
    ):
        assert omnichannel_ids() == ["omnichannel.E006"]


@override_settings(
    OMNICHANNEL={**VALID, "CHANNEL_BACKENDS": {"push": "omnichannel.channels.locmem.LocmemBackend"}}
)
def test_push_on_another_backend_needs_no_vapid_keys():
    assert omnichannel_ids() == []


TWILIO_SMS = {"sms": "omnichannel.channels.twilio_sms.TwilioSmsBackend"}
TWILIO_WHATSAPP = {"whatsapp": "omnichannel.channels.twilio_whatsapp.TwilioWhatsAppBackend"}
TWILIO_COMPLETE = {
    **VALID,
    "CHANNEL_BACKENDS": {**TWILIO_SMS, **TWILIO_WHATSAPP},
    "TWILIO_ACCOUNT_SID": "AC123",
    "TWILIO_AUTH_TOKEN": "token",
    "TWILIO_FROM_NUMBER": "+15005550006",
    "TWILIO_WHATSAPP_FROM": "+14155238886",
}


@override_settings(OMNICHANNEL=TWILIO_COMPLETE)
def test_complete_twilio_configuration_has_no_messages():
    assert omnichannel_ids() == []


def test_twilio_without_credentials_or_sender_is_e005():
    named_by_missing_key = {
        "TWILIO_ACCOUNT_SID": "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN": "TWILIO_AUTH_TOKEN",
        "TWILIO_FROM_NUMBER": "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID",
        "TWILIO_WHATSAPP_FROM": "TWILIO_WHATSAPP_FROM",
    }
    for missing, named in named_by_missing_key.items():
        config = {key: value for key, value in TWILIO_COMPLETE.items() if key != missing}
        with override_settings(OMNICHANNEL=config):
            messages = run_checks(tags=["omnichannel"])
        assert [m.id for m in messages] == ["omnichannel.E005"], missing
        assert named in messages[0].msg


def test_a_messaging_service_is_a_sender():
    config = {**TWILIO_COMPLETE, "TWILIO_FROM_NUMBER": None, "TWILIO_MESSAGING_SERVICE_SID": "MG1"}
    with override_settings(OMNICHANNEL=config):
        assert omnichannel_ids() == []


def test_sms_on_another_backend_needs_no_twilio_settings():
    locmem = "omnichannel.channels.locmem.LocmemBackend"
    config = {**VALID, "CHANNEL_BACKENDS": {"sms": locmem}}
    with override_settings(OMNICHANNEL=config):
        assert omnichannel_ids() == []


def test_twilio_without_public_base_url_is_e016():
    config = {**TWILIO_COMPLETE, "PUBLIC_BASE_URL": None}
    with override_settings(OMNICHANNEL=config):
        [message] = run_checks(tags=["omnichannel"])
    assert message.id == "omnichannel.E016"
    assert "sms, whatsapp messages" in message.msg and "Twilio" in message.msg
