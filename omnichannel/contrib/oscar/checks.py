"""System checks of the django-oscar integration.

omnichannel_oscar.W001  the app is listed after Oscar: its template overrides are not used
"""

from django.apps import apps
from django.core.checks import Warning, register


@register("omnichannel")
def check_app_order(app_configs, **kwargs):
    names = [config.name for config in apps.get_app_configs()]
    ours = names.index("omnichannel.contrib.oscar")
    if "oscar" in names and names.index("oscar") < ours:
        return [
            Warning(
                '"omnichannel.contrib.oscar" comes after Oscar in INSTALLED_APPS, so Oscar\'s '
                "own templates win over its overrides (popup, inbox, consent box, "
                "preference centre).",
                hint='Put "omnichannel.contrib.oscar" before "oscar.config.Shop".',
                id="omnichannel_oscar.W001",
            )
        ]
    return []
