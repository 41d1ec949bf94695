"""System checks: misconfiguration shows at startup, with an id to search for.

omnichannel.E001  SHOP_ADAPTER is not set
omnichannel.E002  SHOP_ADAPTER cannot be imported or is not a ShopAdapter
omnichannel.E003  CHANNEL_BACKENDS names a channel that does not exist
omnichannel.E004  a CHANNEL_BACKENDS entry cannot be imported
omnichannel.W001  Celery runs tasks eagerly while DEBUG is off
omnichannel.W002  no SessionMiddleware: guest carts and popups cannot be tied to a visitor
"""

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .conf import CHANNELS, omnichannel_settings

SETTINGS_HINT = "See the settings reference in omnichannel's README."


@register("omnichannel")
def check_shop_adapter(app_configs, **kwargs):
    from .integrations.adapter import ShopAdapter

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
