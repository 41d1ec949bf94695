"""System checks: misconfiguration shows at startup, with an id to search for.

omnichannel.E001  SHOP_ADAPTER is not set
omnichannel.E002  SHOP_ADAPTER cannot be imported or is not a ShopAdapter
omnichannel.E003  CHANNEL_BACKENDS names a channel that does not exist
omnichannel.E004  a CHANNEL_BACKENDS entry cannot be imported
omnichannel.E005  a Twilio backend (sms / whatsapp) lacks its credentials or sender
omnichannel.E006  the web push backend is configured but the VAPID settings are missing or wrong
omnichannel.W001  Celery runs tasks eagerly while DEBUG is off
omnichannel.W002  no SessionMiddleware: guest carts and popups cannot be tied to a visitor
omnichannel.W003  Twilio is configured without PUBLIC_BASE_URL (status callbacks, signatures)
"""

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .conf import CHANNELS, omnichannel_settings
from .integrations.adapter import ShopAdapter

SETTINGS_HINT = "See the settings reference in omnichannel's README."


@register("omnichannel")
def check_shop_adapter(app_configs, **kwargs):
    path = omnichannel_settings.user_settings.get("SHOP_ADAPTER")
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
    messages = []
    if missing:
        messages.append(
            Error(
                f"The Twilio backend for {' and '.join(channels)} needs "
                f"OMNICHANNEL[...] settings: {', '.join(missing)}.",
                hint="The Account SID and Auth Token are on the Twilio console's dashboard; "
                "senders are under Phone Numbers, Messaging Services and WhatsApp senders.",
                id="omnichannel.E005",
            )
        )
    if not conf.PUBLIC_BASE_URL:
        messages.append(
            Warning(
                'Twilio is configured but OMNICHANNEL["PUBLIC_BASE_URL"] is not set.',
                hint="Twilio needs an absolute URL for status callbacks, and webhook signatures "
                "are checked against it: set it to the shop's public https:// address.",
                id="omnichannel.W003",
            )
        )
    return messages


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
