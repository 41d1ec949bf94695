"""System checks: misconfiguration shows at startup, with an id to search for.

omnichannel.E001  SHOP_ADAPTER is not set
omnichannel.E002  SHOP_ADAPTER cannot be imported or is not a ShopAdapter
omnichannel.E003  CHANNEL_BACKENDS names a channel that does not exist
omnichannel.E004  a CHANNEL_BACKENDS entry cannot be imported
omnichannel.E005  a Twilio backend (sms / whatsapp) lacks its credentials or sender
omnichannel.E006  the web push backend is configured but the VAPID settings are missing or wrong
omnichannel.E007  OMNICHANNEL has a key the app does not know (with a "did you mean")
omnichannel.E008  a setting has the wrong type (a number, True / False, text, list or dict)
omnichannel.E009  a number is out of its range (a duration that is not positive, ...)
omnichannel.E010  a dict setting has an unknown key or a list an unknown name (channels,
                  kinds of history, popup limits, window and cap fields)
omnichannel.E011  a time zone is unknown
omnichannel.E012  a country or currency code is not one
omnichannel.E013  a send window is malformed (HH:MM, start before end, weekdays 0-6)
omnichannel.E014  a frequency cap is malformed (count, hours, action)
omnichannel.E015  a popup rate limit is not "count/period"
omnichannel.E016  PUBLIC_BASE_URL is not an absolute http(s) address, or is missing while a
                  channel that sends links (email, SMS, WhatsApp, push) is enabled
omnichannel.E017  the webhook timings contradict each other: a POST's timeout is not under
                  half the delivery lease, or the backoff's cap is below its start
omnichannel.E018  REVIEW_ORDER_STATUSES lists a status that PURCHASE_ORDER_STATUSES does not
                  count as a purchase: an order in it would never get its review request
omnichannel.W001  Celery runs tasks eagerly while DEBUG is off
omnichannel.W002  no SessionMiddleware: guest carts and popups cannot be tied to a visitor
omnichannel.W003  (retired: Twilio without PUBLIC_BASE_URL is now omnichannel.E016)
omnichannel.W004  PUBLIC_BASE_URL is not set (no channel that sends links is enabled yet)
omnichannel.W005  an old setting name still drives a loop that has its own setting now

E007 to E016 come from parsing every value in ``omnichannel.conf``; each hint says what
to write. The checks that read a setting skip a value that does not parse: it is reported
once, by ``check_setting_values``.
"""

import functools

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .conf import ALIASES, CHANNELS, LINK_CHANNELS, SETTINGS_NAME, omnichannel_settings
from .integrations.adapter import ShopAdapter, integration_adapter_path
from .setting_types import BAD_BASE_URL

SETTINGS_HINT = "See the settings reference in omnichannel's README."


@register("omnichannel")
def check_setting_values(app_configs, **kwargs):
    return [Error(p.message, hint=p.hint, id=p.id) for p in omnichannel_settings.problems()]


def reads_settings(check):
    """Run ``check`` on parsed settings; a value that does not parse is E007-E016's."""

    @functools.wraps(check)
    def wrapper(app_configs, **kwargs):
        if omnichannel_settings.problems():
            return []
        return check(app_configs, **kwargs)

    return wrapper


@register("omnichannel")
@reads_settings
def check_public_base_url(app_configs, **kwargs):
    if omnichannel_settings.PUBLIC_BASE_URL:
        return []
    linking = [c for c in LINK_CHANNELS if c in omnichannel_settings.CHANNEL_BACKENDS]
    fix = (
        f'Set {SETTINGS_NAME}["PUBLIC_BASE_URL"] to the address the internet reaches the shop '
        'at, e.g. "https://shop.example.com".'
    )
    if linking:
        twilio = " Twilio could not call back either." if {"sms", "whatsapp"} & {*linking} else ""
        return [
            Error(
                f'{SETTINGS_NAME}["PUBLIC_BASE_URL"] is not set: every link in '
                f"{', '.join(linking)} messages would be relative, unusable in a mailbox or on "
                f"a phone.{twilio}",
                hint=fix,
                id=BAD_BASE_URL,
            )
        ]
    return [
        Warning(
            f'{SETTINGS_NAME}["PUBLIC_BASE_URL"] is not set; links would be relative once a '
            "channel that sends links (email, SMS, WhatsApp, push) is enabled.",
            hint=fix,
            id="omnichannel.W004",
        )
    ]


@register("omnichannel")
@reads_settings
def check_renamed_settings(app_configs, **kwargs):
    user_settings = omnichannel_settings.user_settings
    warnings = []
    for new, old in ALIASES.items():
        if old in user_settings and new not in user_settings:
            warnings.append(
                Warning(
                    f'{SETTINGS_NAME}["{old}"] also sets "{new}", which has its own setting now; '
                    "this fallback goes in the next release.",
                    hint=f'Add "{new}": {user_settings[old]!r} to keep today\'s value ("{old}" '
                    "then drives the dispatcher only), or leave it out for its default of "
                    f"{omnichannel_settings.defaults[new]!r}.",
                    id="omnichannel.W005",
                )
            )
    return warnings


@register("omnichannel")
@reads_settings
def check_webhook_timings(app_configs, **kwargs):
    timeout = omnichannel_settings.WEBHOOK_TIMEOUT_SECONDS
    lease = omnichannel_settings.WEBHOOK_LEASE_SECONDS
    backoff = omnichannel_settings.WEBHOOK_BACKOFF_SECONDS
    backoff_max = omnichannel_settings.WEBHOOK_BACKOFF_MAX_SECONDS
    errors = []
    if timeout * 2 > lease:
        # A lease that lapses while a POST is still waiting lets a second sweeper send it too.
        errors.append(
            Error(
                f'{SETTINGS_NAME}["WEBHOOK_TIMEOUT_SECONDS"] ({timeout!r}) must be at most half '
                f'of {SETTINGS_NAME}["WEBHOOK_LEASE_SECONDS"] ({lease!r}): a delivery whose '
                "lease lapses while its endpoint is still answering can be sent twice.",
                hint=f"Raise WEBHOOK_LEASE_SECONDS to at least {timeout * 2!r}, or lower the "
                "timeout.",
                id="omnichannel.E017",
            )
        )
    if backoff_max < backoff:
        errors.append(
            Error(
                f'{SETTINGS_NAME}["WEBHOOK_BACKOFF_MAX_SECONDS"] ({backoff_max!r}) is below '
                f'{SETTINGS_NAME}["WEBHOOK_BACKOFF_SECONDS"] ({backoff!r}): retries could not '
                "back off.",
                hint="Make the cap at least the first delay.",
                id="omnichannel.E017",
            )
        )
    return errors


@register("omnichannel")
@reads_settings
def check_review_statuses(app_configs, **kwargs):
    purchases = omnichannel_settings.PURCHASE_ORDER_STATUSES
    if purchases is None:
        return []
    outside = [s for s in omnichannel_settings.REVIEW_ORDER_STATUSES if s not in purchases]
    if not outside:
        return []
    return [
        Error(
            f'{SETTINGS_NAME}["REVIEW_ORDER_STATUSES"] lists {", ".join(map(repr, outside))}, '
            f'which {SETTINGS_NAME}["PURCHASE_ORDER_STATUSES"] does not count as a purchase: '
            "an order in that status is no purchase, so it never gets its review request "
            "(and its buyer's win-back clock stops).",
            hint=f'Add {", ".join(map(repr, outside))} to "PURCHASE_ORDER_STATUSES", or take '
            'it out of "REVIEW_ORDER_STATUSES".',
            id="omnichannel.E018",
        )
    ]


@register("omnichannel")
@reads_settings
def check_shop_adapter(app_configs, **kwargs):
    path = omnichannel_settings.user_settings.get("SHOP_ADAPTER")
    if not path and integration_adapter_path():
        return []  # a ready integration (omnichannel.contrib.oscar) brings its adapter
    if not path:
        return [
            Error(
                'OMNICHANNEL["SHOP_ADAPTER"] is not set.',
                hint="Subclass omnichannel.integrations.ShopAdapter for your shop and put its "
                'dotted path there, e.g. "myshop.omnichannel.Adapter".',
                id="omnichannel.E001",
            )
        ]
    try:
        adapter_class = omnichannel_settings.SHOP_ADAPTER
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint=SETTINGS_HINT, id="omnichannel.E002")]
    if not (isinstance(adapter_class, type) and issubclass(adapter_class, ShopAdapter)):
        return [
            Error(
                f'OMNICHANNEL["SHOP_ADAPTER"] = {path!r} is not a ShopAdapter subclass.',
                hint="Subclass omnichannel.integrations.ShopAdapter.",
                id="omnichannel.E002",
            )
        ]
    return []


@register("omnichannel")
@reads_settings
def check_channel_backends(app_configs, **kwargs):
    errors = []
    for channel, path in omnichannel_settings.CHANNEL_BACKENDS.items():
        if channel not in CHANNELS:
            errors.append(
                Error(
                    f'OMNICHANNEL["CHANNEL_BACKENDS"] names an unknown channel {channel!r}.',
                    hint=f"Channels are: {', '.join(CHANNELS)}.",
                    id="omnichannel.E003",
                )
            )
            continue
        try:
            import_string(path)
        except ImportError as exc:
            errors.append(
                Error(
                    f"The {channel} backend {path!r} cannot be imported: {exc}",
                    hint="Install the extra it needs (e.g. pip install django-omnichannel[twilio])"
                    " or fix the dotted path.",
                    id="omnichannel.E004",
                )
            )
    return errors


@register("omnichannel")
def check_celery_eager(app_configs, **kwargs):
    if settings.DEBUG:
        return []
    from celery import current_app

    if current_app.conf.task_always_eager or getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        return [
            Warning(
                "Celery runs tasks eagerly (task_always_eager) while DEBUG is off.",
                hint="Eager tasks run inside the shop's request: sending would block checkout. "
                "Turn it off in production and run a worker and beat.",
                id="omnichannel.W001",
            )
        ]
    return []


@register("omnichannel")
def check_sessions(app_configs, **kwargs):
    if "django.contrib.sessions.middleware.SessionMiddleware" in settings.MIDDLEWARE:
        return []
    return [
        Warning(
            "SessionMiddleware is not installed.",
            hint="Without sessions, guest carts cannot be tied to the visitor who later "
            "gives an email.",
            id="omnichannel.W002",
        )
    ]


@register("omnichannel")
@reads_settings
def check_vapid(app_configs, **kwargs):
    try:
        from .channels.webpush import WebPushBackend
        from .push.vapid import load_vapid
    except ImportError:
        return []  # omnichannel.E004 reports it
    if not channels_using(WebPushBackend):
        return []
    try:
        load_vapid()
    except ImproperlyConfigured as exc:
        return [
            Error(
                str(exc),
                hint='Run "python manage.py omnichannel_vapid_keys", paste its two lines into '
                'OMNICHANNEL and set "VAPID_SUBJECT" to "mailto:" and an address you read.',
                id="omnichannel.E006",
            )
        ]
    return []


@register("omnichannel")
@reads_settings
def check_twilio(app_configs, **kwargs):
    try:
        from .channels.twilio_base import TwilioBackend
    except ImportError:
        return []  # omnichannel.E004 reports it
    channels = channels_using(TwilioBackend)
    if not channels:
        return []
    conf = omnichannel_settings
    credentials = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
    missing = [name for name in credentials if not getattr(conf, name)]
    if "sms" in channels and not (conf.TWILIO_FROM_NUMBER or conf.TWILIO_MESSAGING_SERVICE_SID):
        missing.append("TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
    if "whatsapp" in channels and not conf.TWILIO_WHATSAPP_FROM:
        missing.append("TWILIO_WHATSAPP_FROM")
    if not missing:
        return []
    return [
        Error(
            f"The Twilio backend for {' and '.join(channels)} needs "
            f"OMNICHANNEL[...] settings: {', '.join(missing)}.",
            hint="The Account SID and Auth Token are on the Twilio console's dashboard; "
            "senders are under Phone Numbers, Messaging Services and WhatsApp senders.",
            id="omnichannel.E005",
        )
    ]


def channels_using(base_class):
    """Channels whose backend subclasses ``base_class`` (an unimportable one is E004's)."""
    channels = []
    for channel, path in omnichannel_settings.CHANNEL_BACKENDS.items():
        try:
            backend_class = import_string(path)
        except ImportError:
            continue
        if isinstance(backend_class, type) and issubclass(backend_class, base_class):
            channels.append(channel)
    return channels
