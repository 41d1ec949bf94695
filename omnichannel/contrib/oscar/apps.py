from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OscarIntegrationConfig(AppConfig):
    name = "omnichannel.contrib.oscar"
    label = "omnichannel_oscar"
    verbose_name = _("Omnichannel for django-oscar")
    # Used when OMNICHANNEL has no SHOP_ADAPTER (omnichannel.integrations.get_adapter).
    omnichannel_shop_adapter = "omnichannel.contrib.oscar.adapter.OscarAdapter"

    def ready(self):
        from . import checks, receivers  # noqa: F401  (register the checks)

        receivers.connect()
