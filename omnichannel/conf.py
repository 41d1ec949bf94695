"""The ``OMNICHANNEL`` settings dict, read through one object.

Modelled on Django REST framework's ``api_settings``: every key has a default, dotted paths
are imported lazily on first use, unknown keys are refused (with a "did you mean"), and the
cache is dropped when ``override_settings`` or ``setting_changed`` touches ``OMNICHANNEL``,
so tests can change one key at a time.

    from omnichannel.conf import omnichannel_settings
    omnichannel_settings.DEFAULT_CURRENCY
"""

import difflib

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

SETTINGS_NAME = "OMNICHANNEL"

# The EU and the rest of the European Economic Area, where GDPR applies.
# fmt: off
EEA_COUNTRIES = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "IS", "LI", "NO",
)
# fmt: on

DEFAULTS = {
    # Dotted path to the shop adapter class (see omnichannel.integrations.adapter.ShopAdapter).
    "SHOP_ADAPTER": None,
    # Connect the ready-made receivers for django.contrib.auth (user created, logged in)
    # and allauth's user_signed_up when allauth is installed.
    "CONNECT_AUTH_RECEIVERS": True,
    # Region used to read phone numbers typed without a +country prefix (ISO 3166 alpha-2),
    # when the contact's own country is unknown.
    "DEFAULT_PHONE_REGION": None,
    # Currency recorded when the adapter does not say (ISO 4217).
    "DEFAULT_CURRENCY": "USD",
    # Time zone for contacts whose own (profile or phone country) is unknown; None means
    # settings.TIME_ZONE.
    "DEFAULT_TIME_ZONE": None,
    # Order statuses that count as a purchase (convert the cart, stop recovery). None means
    # every tracked order counts; a shop with bank transfers lists only its paid statuses.
    "PURCHASE_ORDER_STATUSES": None,
    # A cart with lines and a reachable contact is abandoned after this long without activity.
    "CART_IDLE_MINUTES": 30,
    # Cart reminders to contacts who started checkout but gave no marketing consent, as
    # transactional messages. Off: only consented contacts are reminded. Lawful only where
    # the shop's jurisdiction allows it (see the README); the EU_STRICT preset keeps it off.
    "CART_RECOVERY_TRANSACTIONAL": False,
    # How long a cart restore link works.
    "CART_RESTORE_LINK_MAX_AGE_DAYS": 14,
    # Days without activity after which an unconverted cart snapshot is marked expired.
    "CART_EXPIRY_DAYS": 30,
    # Key under which the visitor / contact ids live in request.session.
    "SESSION_KEY": "omnichannel",
    # request.META key holding the client IP when behind your own proxy, e.g.
    # "HTTP_X_FORWARDED_FOR" (first hop is used). None: REMOTE_ADDR.
    "CLIENT_IP_HEADER": None,
    # Optional fields omnichannel.forms.ProfileFieldsMixin adds to the signup form: any of
    # "country", "birth_year", "phone", "email_frequency". Each one costs signups.
    "SIGNUP_PROFILE_FIELDS": [],
    # Channel name -> dotted path of its backend class. Channels not listed are disabled.
    "CHANNEL_BACKENDS": {
        "email": "omnichannel.channels.email.EmailBackend",
        "inbox": "omnichannel.channels.inbox.InboxBackend",
    },
    # Absolute base URL of the shop as the internet sees it (https://shop.example.com):
    # links in messages, webhook URLs given to providers, and Twilio signature checks.
    "PUBLIC_BASE_URL": None,
    # --- dispatch -----------------------------------------------------------------------
    # Messages claimed per batch.
    "DISPATCH_BATCH_SIZE": 200,
    # How long a claimed message belongs to its worker before another may take it. The
    # worker renews it while it works; a message with the provider keeps it at least
    # until its in-flight window (below) has closed.
    "DISPATCH_LEASE_SECONDS": 120,
    # A message handed to the provider is never looked up or sent again before its
    # backend's request timeout plus this grace has passed: a loaded machine can hold a
    # process this long between deciding to send and the request leaving.
    "DISPATCH_IN_FLIGHT_GRACE_SECONDS": 60,
    # A message whose worker died mid-send is looked up at the provider; when the lookup
    # keeps failing this long, it is failed for staff to check rather than kept waiting.
    "RECONCILE_GIVE_UP_SECONDS": 3600,
    # How long one sweep task keeps claiming batches before it hands over to the next.
    "DISPATCH_TIME_BUDGET_SECONDS": 20,
    # How often celery beat runs the sweep.
    "SWEEP_INTERVAL_SECONDS": 5,
    # Transient failures: retried with exponential backoff and full jitter.
    "RETRY_MAX_ATTEMPTS": 6,
    "RETRY_BACKOFF_SECONDS": 30,
    "RETRY_BACKOFF_MAX_SECONDS": 3600,
    # A flow message that could not go out within this many seconds (held by send windows
    # or caps) expires instead of arriving out of context.
    "FLOW_MESSAGE_TTL_SECONDS": 48 * 3600,
    # SMS segments a flow step's text may take; a longer one keeps the flow from being
    # activated (each segment is billed as one message).
    "SMS_SEGMENT_BUDGET": 2,
    # --- policy -------------------------------------------------------------------------
    # Local-time windows for marketing per channel and country ("*" = any other country).
    # days: weekdays allowed, Monday=0. A message due outside waits for the next opening.
    "SEND_WINDOWS": {
        "sms": {
            "*": {"start": "09:00", "end": "20:00"},
            "FR": {"start": "09:00", "end": "20:00", "days": [0, 1, 2, 3, 4, 5]},
        },
        "whatsapp": {"*": {"start": "09:00", "end": "20:00"}},
        "push": {"*": {"start": "08:00", "end": "21:00"}},
    },
    # Marketing messages per contact: "all" across channels, or per channel.
    # action "defer" waits until the cap allows, "skip" cancels the message.
    "FREQUENCY_CAPS": {
        "email": {"count": 1, "hours": 16, "action": "defer"},
        "sms": {"count": 1, "hours": 24, "action": "defer"},
        "whatsapp": {"count": 1, "hours": 24, "action": "defer"},
        "push": {"count": 1, "hours": 24, "action": "defer"},
    },
    # Channel order for "best available channel": per country, "*" for the rest. A
    # contact's own attributes["preferred_channels"] comes first.
    "CHANNEL_PREFERENCES": {"*": ["email", "push", "inbox", "sms", "whatsapp"]},
    # Costly channels only for carts worth at least this much, e.g. {"sms": 50}.
    "CHANNEL_MIN_CART_VALUE": {},
    # Messages per second per sender (SMS: per segment), so bursts queue.
    "RATE_LIMITS": {"sms": 1.0, "whatsapp": 10.0},
    # Unsubscribe links keep working this long after the send (CAN-SPAM asks 30 days).
    "UNSUBSCRIBE_LINK_MAX_AGE_DAYS": 400,
    # --- email --------------------------------------------------------------------------
    # From address for messages; None means settings.DEFAULT_FROM_EMAIL.
    "EMAIL_FROM": None,
    # --- Twilio (SMS, WhatsApp) ---------------------------------------------------------
    "TWILIO_ACCOUNT_SID": None,
    "TWILIO_AUTH_TOKEN": None,
    "TWILIO_FROM_NUMBER": None,
    "TWILIO_MESSAGING_SERVICE_SID": None,
    "TWILIO_WHATSAPP_FROM": None,
    # Twilio drops a message still queued after this many seconds (max 36000), so a
    # stale nudge never goes out late.
    "TWILIO_VALIDITY_PERIOD": 14400,
    # Answer to HELP; None builds one from the adapter's shop name and support email.
    "SMS_HELP_REPLY": None,
    # --- web push -----------------------------------------------------------------------
    "VAPID_PUBLIC_KEY": None,
    "VAPID_PRIVATE_KEY": None,
    "VAPID_SUBJECT": None,
    # Seconds a push service keeps an undelivered notification.
    "PUSH_TTL": 86400,
    # --- popups ---------------------------------------------------------------------------
    # request.META key holding the visitor's ISO country, set by your CDN or proxy (e.g.
    # Cloudflare's "HTTP_CF_IPCOUNTRY"). None: the country is only known from the form or
    # the contact. Used for country targeting and for double opt-in.
    "COUNTRY_HEADER": None,
    # Countries where popup subscriptions need double opt-in (a confirmation link) when a
    # popup leaves it on "automatic". Default: the EU and the rest of the EEA.
    "DOUBLE_OPT_IN_COUNTRIES": EEA_COUNTRIES,
    # Seconds a double opt-in link keeps working.
    "DOUBLE_OPT_IN_MAX_AGE": 7 * 24 * 3600,
    # Seconds the active popups stay in the cache; saving a popup clears it at once in this
    # process (and in every process when the cache is shared, e.g. Redis).
    "POPUP_CACHE_TIMEOUT": 300,
    # At most this many popups per browser session, and per day across all popups.
    "POPUP_MAX_PER_SESSION": 1,
    "POPUP_MAX_PER_DAY": 2,
    # A popup form sent sooner than this after it was shown is refused (bots are fast).
    "POPUP_MIN_SUBMIT_SECONDS": 3,
    # Seconds a shown popup's form stays valid.
    "POPUP_FORM_MAX_AGE": 24 * 3600,
    # Rate limits of the popup API ("count/second|minute|hour|day"), per client IP and,
    # for subscribing, per email address.
    "POPUP_RATE_LIMITS": {
        "events_per_ip": "120/hour",
        "subscribe_per_ip": "20/hour",
        "subscribe_per_email": "5/hour",
        "push_per_ip": "20/hour",
    },
    # --- privacy --------------------------------------------------------------------------
    # Days each kind of history is kept before the daily purge deletes it; None keeps it.
    # Keys left out keep these defaults. "messages" only ever deletes messages in a final
    # state (sent, delivered, failed, cancelled, expired), with their delivery events.
    # Figures computed from deleted rows go with them (see the README, "Retention").
    "RETENTION_DAYS": {
        "cart_snapshots": 365,
        "delivery_events": 730,
        "popup_events": 365,
        "inbound_messages": 730,
        "messages": None,
    },
    # Rows the purge deletes per statement (at most 1000), so no run holds long locks.
    "RETENTION_BATCH_SIZE": 1000,
}

# Settings whose value is a dotted path imported on first access.
IMPORT_STRINGS = {"SHOP_ADAPTER"}

CHANNELS = ("email", "sms", "whatsapp", "push", "inbox")


def perform_import(value, setting_name):
    if value is None or not isinstance(value, str):
        return value
    try:
        return import_string(value)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"Could not import {value!r} for {SETTINGS_NAME}['{setting_name}']: {exc}"
        ) from exc


class OmnichannelSettings:
    """Attribute access to ``settings.OMNICHANNEL`` with defaults.

    Attributes are cached on first access; ``reload()`` drops the cache.
    """

    def __init__(self, defaults=None, import_strings=None):
        self.defaults = defaults or DEFAULTS
        self.import_strings = import_strings or IMPORT_STRINGS
        self._cached_attrs = set()
        self._user_settings = None

    @property
    def user_settings(self):
        if self._user_settings is None:
            user_settings = getattr(settings, SETTINGS_NAME, {}) or {}
            if not isinstance(user_settings, dict):
                raise ImproperlyConfigured(f"settings.{SETTINGS_NAME} must be a dict.")
            problems = unknown_key_messages(user_settings)
            if problems:
                raise ImproperlyConfigured(" ".join(problems))
            self._user_settings = user_settings
        return self._user_settings

    def __getattr__(self, attr):
        if attr not in self.defaults:
            raise AttributeError(f"Invalid omnichannel setting: {attr!r}")
        value = self.user_settings.get(attr, self.defaults[attr])
        if attr in self.import_strings:
            value = perform_import(value, attr)
        self._cached_attrs.add(attr)
        setattr(self, attr, value)
        return value

    def reload(self):
        for attr in self._cached_attrs:
            delattr(self, attr)
        self._cached_attrs.clear()
        self._user_settings = None


def unknown_key_messages(user_settings):
    """One message per key of ``OMNICHANNEL`` that the app does not know."""
    messages = []
    for key in user_settings:
        if key in DEFAULTS:
            continue
        close = difflib.get_close_matches(key, DEFAULTS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        messages.append(f"Unknown setting {SETTINGS_NAME}[{key!r}].{hint}")
    return messages


omnichannel_settings = OmnichannelSettings()


def reload_omnichannel_settings(*args, setting, **kwargs):
    if setting == SETTINGS_NAME:
        omnichannel_settings.reload()


setting_changed.connect(reload_omnichannel_settings)
