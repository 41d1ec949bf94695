from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OmnichannelConfig(AppConfig):
    name = "omnichannel"
    verbose_name = _("Omnichannel marketing")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from anymail.signals import tracking

        from . import checks  # noqa: F401  (registers the checks)
        from .conf import omnichannel_settings
        from .contacts import segments  # noqa: F401  (registers in_segment)
        from .flows import receivers as flow_receivers
        from .integrations import receivers
        from .outgoing import receivers as webhook_receivers
        from .popups.config import connect_cache_invalidation
        from .webhooks.email_tracking import handle_tracking

        tracking.connect(handle_tracking, dispatch_uid="omnichannel.email_tracking")
        receivers.connect_shop_signals()
        connect_cache_invalidation()
        flow_receivers.connect()
        webhook_receivers.connect()
        if omnichannel_settings.CONNECT_AUTH_RECEIVERS:
            receivers.connect_auth_receivers()
