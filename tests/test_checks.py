import ast
import io

import pytest
from celery import current_app
from django.conf import settings
from django.core import checks
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


# --- every value is checked at startup ---------------------------------------------------


@override_settings(
    OMNICHANNEL={
        **VALID,
        "CHANNEL_BACKENDS": {"email": "omnichannel.channels.email.EmailBackend"},
        "DEFAULT_TIME_ZONE": "Europe/Paris",
        "DEFAULT_PHONE_REGION": "fr",
        "SEND_WINDOWS": {"sms": {"FR": {"start": "10:00", "end": "19:30", "days": [0, 1, 2]}}},
        "FREQUENCY_CAPS": {"all": {"count": 3, "hours": 0.5, "action": "skip"}},
        "CHANNEL_PREFERENCES": {"BR": ["whatsapp", "email"], "*": ["email"]},
        "CHANNEL_MIN_CART_VALUE": {"sms": 50, "whatsapp": 25.5},
        "RATE_LIMITS": {"sms": 3, "whatsapp": None},
        "RETENTION_DAYS": {"messages": 1095, "popup_events": None},
        "POPUP_RATE_LIMITS": {"subscribe_per_ip": "10/minute", "push_per_ip": None},
        "FLOW_BATCH_SIZE": 100,
        "PURCHASE_ORDER_STATUSES": ["paid", "shipped"],
        "REVIEW_ORDER_STATUSES": ["shipped"],
        "WINBACK_AFTER_DAYS": 120,
        "WINBACK_MIN_ORDERS": 4,
        "WINBACK_INTERVAL_MULTIPLE": 1.5,
    }
)
def test_a_valid_configuration_of_every_kind_has_no_messages():
    assert omnichannel_ids() == []


def window(**fields):
    return {"sms": {"*": {"start": "09:00", "end": "20:00", **fields}}}


def cap(**fields):
    return {"email": {"count": 1, "hours": 16, **fields}}


# setting, bad value, id, what the message names, what the hint says to write
BAD_VALUES = [
    ("DISPATCH_LEASE_SECONDS", "120", "E008", "'120'", "without quotes"),
    ("CONNECT_AUTH_RECEIVERS", "yes", "E008", "'yes'", "True or False"),
    ("SEND_WINDOWS", [("sms", "09-20")], "E008", "must be a dict", '{"sms": {"*": {"start"'),
    ("DISPATCH_BATCH_SIZE", 0, "E009", "at least 1", "at least 1. The default is 200."),
    ("FLOW_MESSAGE_TTL_SECONDS", -5, "E009", "greater than 0", "The default is 172800"),
    ("TWILIO_VALIDITY_PERIOD", 40000, "E009", "at most 36000", "at most 36000"),
    ("RETENTION_DAYS", {"carts": 30}, "E010", "unknown key 'carts'", "'cart_snapshots'"),
    ("CHANNEL_MIN_CART_VALUE", {"text": 50}, "E010", "unknown key 'text'", "'sms'"),
    ("CHANNEL_PREFERENCES", {"*": ["email", "fax"]}, "E010", "'fax'", "'whatsapp'"),
    ("SIGNUP_PROFILE_FIELDS", ["age"], "E010", "'age'", "'birth_year'"),
    ("DEFAULT_TIME_ZONE", "Europe/Pariss", "E011", "'Europe/Pariss'", '"Europe/Paris"'),
    ("DEFAULT_CURRENCY", "euro", "E012", "'euro'", '"EUR"'),
    ("DOUBLE_OPT_IN_COUNTRIES", ["DE", "Austria"], "E012", "'Austria'", '"FR"'),
    ("SEND_WINDOWS", {"sms": {"France": {}}}, "E012", "key 'France'", '"*"'),
    ("SEND_WINDOWS", window(start="9am"), "E013", "'9am'", '"HH:MM"'),
    ("SEND_WINDOWS", window(start="21:00"), "E013", "never opens", '"start": "09:00"'),
    ("SEND_WINDOWS", window(days=[]), "E013", "['days'] is empty", "Monday = 0"),
    ("SEND_WINDOWS", window(days=[5, 7]), "E013", "['days'][1] is 7", "at most 6"),
    ("SEND_WINDOWS", window(begin="08:00"), "E013", "unknown key 'begin'", "'start', 'end'"),
    ("FREQUENCY_CAPS", cap(action="drop"), "E014", "'drop'", "'defer', 'skip'"),
    ("FREQUENCY_CAPS", {"email": {"count": 1}}, "E014", "has no 'hours'", '"hours": 24'),
    ("FREQUENCY_CAPS", cap(count=0), "E014", "['count'] is 0", "at least 1"),
    ("POPUP_RATE_LIMITS", {"subscribe_per_ip": "lots"}, "E015", "'lots'", '"20/hour"'),
    ("REVIEW_ORDER_STATUSES", "delivered", "E008", "'delivered'", '["delivered", "complete"]'),
    ("WINBACK_AFTER_DAYS", 0, "E009", "greater than 0", "The default is 90."),
    ("FLOW_PRIORITY_WINDOW_HOURS", -1, "E009", "greater than 0", "The default is 24."),
    ("WINBACK_MIN_ORDERS", 1, "E009", "at least 2", "The default is 3."),
    ("WINBACK_INTERVAL_MULTIPLE", 0.5, "E009", "at least 1", "The default is 2."),
    ("PUBLIC_BASE_URL", "shop.example.com", "E016", "not an absolute", '"https://shop.'),
    ("PUBLIC_BASE_URL", "https://shop.example.com/?ref=x", "E016", "no query", "scheme, host"),
]


@pytest.mark.parametrize(
    ("setting", "value", "code", "named", "hint"),
    BAD_VALUES,
    ids=[f"{code}-{setting}-{named}" for setting, _v, code, named, _h in BAD_VALUES],
)
def test_a_bad_value_is_an_error_with_a_hint(setting, value, code, named, hint):
    with override_settings(OMNICHANNEL={**VALID, setting: value}):
        [message] = run_checks(tags=["omnichannel"])
    assert message.id == f"omnichannel.{code}"
    assert f"OMNICHANNEL[{setting!r}]" in message.msg and named in message.msg
    assert hint in message.hint


def test_every_bad_value_is_reported_at_once():
    configured = {**VALID, "CART_IDLE_MINUTES": "30", "SEND_WINDOWS": window(end="25:00")}
    configured["RETENTION_DAYS"] = {"carts": 30, "messages": 0}
    with override_settings(OMNICHANNEL=configured):
        assert omnichannel_ids() == [
            "omnichannel.E008",
            "omnichannel.E009",
            "omnichannel.E010",
            "omnichannel.E013",
        ]


def test_unknown_keys_are_reported_not_raised():
    with override_settings(OMNICHANNEL={**VALID, "SEND_WINDOW": {}, "CART_IDLE_MINUTS": 5}):
        messages = run_checks(tags=["omnichannel"])
    assert [m.id for m in messages] == ["omnichannel.E007", "omnichannel.E007"]
    assert [m.hint for m in messages] == [
        "Did you mean 'SEND_WINDOWS'?",
        "Did you mean 'CART_IDLE_MINUTES'?",
    ]


def test_a_review_status_that_is_no_purchase_is_e018():
    config = {**VALID, "PURCHASE_ORDER_STATUSES": ["paid"], "REVIEW_ORDER_STATUSES": ["shipped"]}
    with override_settings(OMNICHANNEL=config):
        [message] = run_checks(tags=["omnichannel"])
    assert message.id == "omnichannel.E018"
    assert "'shipped'" in message.msg and "never gets its review request" in message.msg
    assert message.hint.startswith("Add 'shipped' to \"PURCHASE_ORDER_STATUSES\"")


@override_settings(OMNICHANNEL=["SHOP_ADAPTER"])
def test_settings_that_are_not_a_dict_are_reported():
    messages = run_checks(tags=["omnichannel"])
    assert [m.id for m in messages] == ["omnichannel.E008"]
    assert "settings.OMNICHANNEL must be a dict" in messages[0].msg


def test_missing_public_base_url_is_an_error_with_email():
    with override_settings(OMNICHANNEL={"SHOP_ADAPTER": ADAPTER}):  # email and inbox
        [message] = run_checks(tags=["omnichannel"])
    assert message.id == "omnichannel.E016" and "email messages would be relative" in message.msg
    assert 'OMNICHANNEL["PUBLIC_BASE_URL"]' in message.hint and "https://" in message.hint


@override_settings(
    OMNICHANNEL={
        "SHOP_ADAPTER": ADAPTER,
        "CHANNEL_BACKENDS": {"inbox": "omnichannel.channels.inbox.InboxBackend"},
    }
)
def test_missing_public_base_url_is_a_warning_without_a_channel_that_sends_links():
    [message] = run_checks(tags=["omnichannel"])
    assert (message.id, message.level) == ("omnichannel.W004", checks.WARNING)


def test_an_old_name_driving_another_loop_is_w005_naming_the_new_one():
    with override_settings(OMNICHANNEL={**VALID, "DISPATCH_BATCH_SIZE": 500}):
        messages = run_checks(tags=["omnichannel"])
    assert [m.id for m in messages] == ["omnichannel.W005", "omnichannel.W005"]
    assert '"FLOW_BATCH_SIZE"' in messages[0].msg
    assert '"CART_DETECTION_BATCH_SIZE"' in messages[1].msg
    assert 'Add "FLOW_BATCH_SIZE": 500' in messages[0].hint
    both = {**VALID, "DISPATCH_BATCH_SIZE": 500, "FLOW_BATCH_SIZE": 500}
    with override_settings(OMNICHANNEL={**both, "CART_DETECTION_BATCH_SIZE": 100}):
        assert omnichannel_ids() == []
