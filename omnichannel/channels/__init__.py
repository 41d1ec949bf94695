"""Channel backends: one module per provider, one base class owning the send flow."""

from functools import cache

from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from ..conf import omnichannel_settings
from ..exceptions import ChannelNotConfigured


@cache
def _backend(path):
    return import_string(path)()


def get_backend(channel):
    """The backend instance configured for ``channel`` (one per dotted path)."""
    path = omnichannel_settings.CHANNEL_BACKENDS.get(channel)
    if not path:
        raise ChannelNotConfigured(
            f'No backend for the {channel!r} channel: add it to OMNICHANNEL["CHANNEL_BACKENDS"].'
        )
    return _backend(path)


def enabled_channels():
    return tuple(omnichannel_settings.CHANNEL_BACKENDS)


def reset_backends():
    """Forget backend instances (settings changed)."""
    _backend.cache_clear()


def _reset_on_settings_change(*, setting, **kwargs):
    if setting == "OMNICHANNEL":
        reset_backends()


setting_changed.connect(_reset_on_settings_change)
