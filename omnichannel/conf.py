"""The ``OMNICHANNEL`` settings dict, read through one object.

Modelled on Django REST framework's ``api_settings``: every key has a default, dotted paths
are imported lazily on first use, unknown keys are refused (with a "did you mean"), and the
cache is dropped when ``override_settings`` or ``setting_changed`` touches ``OMNICHANNEL``,
so tests can change one key at a time. Every value is parsed and checked once
(``PARSERS``, ``omnichannel.setting_types``): the code reads valid values only, and
``manage.py check`` reports every bad one with what to write instead.

    from omnichannel.conf import omnichannel_settings
    omnichannel_settings.DEFAULT_CURRENCY
"""

import difflib

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from . import setting_types as types

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
    # Which message a purchase is credited to, decided once when the order becomes a
    # purchase and read by every report (omnichannel.carts.attribution): the last click on
    # a flow message within click_days of its channel before the order, else the last flow
    # message sent within send_days of its channel. A channel missing from a dict keeps its
    # default; 0 days gives that channel no credit of that kind. popup_days: a purchase is
    # also credited to the popup its buyer subscribed through that many days before it.
    "ATTRIBUTION": {
        "click_days": {"email": 5, "sms": 1, "whatsapp": 1, "push": 1, "inbox": 5},
        "send_days": {"email": 1, "sms": 1, "whatsapp": 1, "push": 1, "inbox": 1},
        "popup_days": 30,
    },
    # --- after the purchase ---------------------------------------------------------------
    # Order statuses at which an order counts as delivered: reaching one starts the flows
    # triggered by "An order is delivered" (the review request).
    "REVIEW_ORDER_STATUSES": ["delivered", "complete"],
    # A buyer is lapsed (win-back) when their last purchase is this many days old, or, with
    # at least WINBACK_MIN_ORDERS purchases, WINBACK_INTERVAL_MULTIPLE times their median
    # interval between purchases when that is longer.
    "WINBACK_AFTER_DAYS": 90,
    "WINBACK_MIN_ORDERS": 3,
    "WINBACK_INTERVAL_MULTIPLE": 2,
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
    # An identified visitor's browsing has ended after this long without a product view;
    # only views this recent then count for a browse-abandonment reminder.
    "BROWSE_IDLE_MINUTES": 60,
    "BROWSE_WINDOW_HOURS": 24,
    # Back in stock / price drop also reach contacts who viewed the product this recently.
    "PRODUCT_NEWS_VIEW_DAYS": 30,
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
    # --- the three sweeps: dispatcher, flow sweeper, cart detection --------------------
    # Each claims due rows in batches and keeps claiming while batches come back full,
    # for at most its time budget per beat task. The flow sweeper and the cart detection
    # used to read the DISPATCH_* values; for one release a DISPATCH_* value you set still
    # applies to them when you did not set their own (see ALIASES, omnichannel.W005).
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
    # Whether each hand-over waits for PostgreSQL to flush it to disk before the provider
    # call. False makes a hand-over several times cheaper where disk flushes are slow; a
    # killed worker still leaves at most one message uncertain, but a crash of the
    # database server itself (not of a worker) may forget the last fraction of a second
    # of hand-overs (PostgreSQL's synchronous_commit = off), and those messages go again.
    "DISPATCH_SYNCHRONOUS_COMMIT": True,
    # A message whose worker died mid-send is looked up at the provider; when the lookup
    # keeps failing this long, it is failed for staff to check rather than kept waiting.
    "RECONCILE_GIVE_UP_SECONDS": 3600,
    # How long one dispatch task keeps claiming batches before it hands over to the next.
    "DISPATCH_TIME_BUDGET_SECONDS": 20,
    # Enrollments the flow sweeper claims per batch, how long a claim lasts, and how long
    # one sweep task keeps claiming.
    "FLOW_BATCH_SIZE": 200,
    "FLOW_LEASE_SECONDS": 120,
    "FLOW_TIME_BUDGET_SECONDS": 20,
    # Idle carts the abandonment detection marks per batch (one transaction each), and how
    # long one detection task keeps going. A batch's fixed cost (its statements, the flows
    # read: 20-40 ms under load) is a third or more of a batch of 200's time, so batches of
    # 1,000 sweep 1.4 to 1.9 times as fast (tests/bench/bench_recovery.py); the carts such
    # a batch locks for a quarter to half a second have been idle for half an hour.
    "CART_DETECTION_BATCH_SIZE": 1000,
    "CART_DETECTION_TIME_BUDGET_SECONDS": 20,
    # How often celery beat runs the sweeps.
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
    # A flow's marketing waits while a flow of higher priority messaged the contact this
    # many hours before, or will within as many hours after (omnichannel.outbox.policy).
    "FLOW_PRIORITY_WINDOW_HOURS": 24,
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
    # --- A/B tests ------------------------------------------------------------------------
    # A test (a popup's variants in one language, a step's variants) has a winner once
    # every arm reached min_sample (impressions, or messages sent) and the leader beats the
    # runner-up with this confidence (1 - the two-sided p-value). auto_promote: the hourly
    # task promotes winners itself. metric: what a message variant is judged by, "clicks"
    # or "orders" (attributed purchases) per message sent. Keys left out keep these.
    "AB_TESTS": {"min_sample": 200, "confidence": 0.95, "auto_promote": False, "metric": "clicks"},
    # --- outgoing webhooks ----------------------------------------------------------------
    # Deliveries the webhook sweeper claims per batch, how long a claim lasts, and how long
    # one sweep task keeps claiming.
    "WEBHOOK_BATCH_SIZE": 100,
    "WEBHOOK_LEASE_SECONDS": 120,
    "WEBHOOK_TIME_BUDGET_SECONDS": 20,
    # Seconds an endpoint has to answer one POST (connect and read each).
    "WEBHOOK_TIMEOUT_SECONDS": 10,
    # Endpoints posted to at once; each endpoint's deliveries go one after another.
    "WEBHOOK_CONCURRENCY": 4,
    # Attempts per delivery before it is failed; retries back off exponentially from
    # WEBHOOK_BACKOFF_SECONDS up to WEBHOOK_BACKOFF_MAX_SECONDS, with jitter.
    "WEBHOOK_MAX_ATTEMPTS": 10,
    "WEBHOOK_BACKOFF_SECONDS": 60,
    "WEBHOOK_BACKOFF_MAX_SECONDS": 6 * 3600,
    # An endpoint failing this many attempts in a row is disabled (staff re-enable it).
    "WEBHOOK_DISABLE_AFTER_FAILURES": 50,
    # Hours the old secret keeps signing beside the new one after a rotation.
    "WEBHOOK_SECRET_ROTATION_HOURS": 24,
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
        # Browsing is worth little after a season, and is personal data.
        "product_views": 180,
        "product_events": 365,
    },
    # Rows the purge deletes per statement (at most 1000), so no run holds long locks.
    "RETENTION_BATCH_SIZE": 1000,
}

# Settings whose value is a dotted path imported on first access.
IMPORT_STRINGS = {"SHOP_ADAPTER"}

CHANNELS = ("email", "sms", "whatsapp", "push", "inbox")
# Channels whose messages carry links (click tracking, unsubscribe, cart restore), which
# are absolute only with PUBLIC_BASE_URL. The inbox is read on the shop's own pages.
LINK_CHANNELS = ("email", "sms", "whatsapp", "push")
# Optional fields of omnichannel.forms.ProfileFieldsMixin.
PROFILE_FIELDS = ("country", "birth_year", "phone", "email_frequency")

# New name -> the old one it falls back to for one release, when only the old one is set.
ALIASES = {
    "FLOW_BATCH_SIZE": "DISPATCH_BATCH_SIZE",
    "FLOW_LEASE_SECONDS": "DISPATCH_LEASE_SECONDS",
    "FLOW_TIME_BUDGET_SECONDS": "DISPATCH_TIME_BUDGET_SECONDS",
    "CART_DETECTION_BATCH_SIZE": "DISPATCH_BATCH_SIZE",
    "CART_DETECTION_TIME_BUDGET_SECONDS": "DISPATCH_TIME_BUDGET_SECONDS",
}

_seconds = types.number(unit="seconds")
_days = types.number(unit="days")
_minutes = types.number(unit="minutes")
_count = types.number(minimum=1, above=False, whole=True)
_at_least_zero = types.number(minimum=0, above=False, whole=True)
_text = types.optional(types.text)
_channel_key = types.known_key(CHANNELS, "channel names")
AB_TEST_METRICS = ("clicks", "orders")

_attribution_days = types.number(minimum=0, above=False, unit="days")


def _attribution(value, where):
    """``ATTRIBUTION``: the three windows, each per channel one merged over its defaults."""
    defaults = DEFAULTS["ATTRIBUTION"]
    per_channel = {
        name: (
            types.merged_over(defaults[name], _attribution_days, "channel names"),
            defaults[name],
        )
        for name in ("click_days", "send_days")
    }
    fields = {**per_channel, "popup_days": (_attribution_days, defaults["popup_days"])}
    return types.record(fields, where, value, '{"click_days": {"email": 5}, "popup_days": 30}')


# How each setting is read; every key of DEFAULTS has one (a test keeps it so).
PARSERS = {
    "SHOP_ADAPTER": _text,  # imported on access; omnichannel.E002 reports an import error
    "CONNECT_AUTH_RECEIVERS": types.boolean,
    "DEFAULT_PHONE_REGION": types.optional(types.country),
    "DEFAULT_CURRENCY": types.currency,
    "DEFAULT_TIME_ZONE": types.optional(types.time_zone),
    "PURCHASE_ORDER_STATUSES": types.optional(
        types.list_of(types.text, 'a list of statuses, e.g. ["paid", "shipped"]')
    ),
    "ATTRIBUTION": _attribution,
    "REVIEW_ORDER_STATUSES": types.list_of(
        types.text, 'a list of statuses, e.g. ["delivered", "complete"]'
    ),
    "WINBACK_AFTER_DAYS": _days,
    "WINBACK_MIN_ORDERS": types.number(minimum=2, above=False, whole=True),
    "WINBACK_INTERVAL_MULTIPLE": types.number(minimum=1, above=False),
    "CART_IDLE_MINUTES": _minutes,
    "CART_RECOVERY_TRANSACTIONAL": types.boolean,
    "CART_RESTORE_LINK_MAX_AGE_DAYS": _days,
    "CART_EXPIRY_DAYS": _days,
    "BROWSE_IDLE_MINUTES": _minutes,
    "BROWSE_WINDOW_HOURS": types.number(unit="hours"),
    "PRODUCT_NEWS_VIEW_DAYS": _days,
    "SESSION_KEY": types.text,
    "CLIENT_IP_HEADER": _text,
    "SIGNUP_PROFILE_FIELDS": types.list_of(
        types.one_of(PROFILE_FIELDS), 'a list of field names, e.g. ["country", "phone"]'
    ),
    # Channel names and imports are omnichannel.E003 / E004's.
    "CHANNEL_BACKENDS": types.mapping(
        types.any_key, types.text, '{"email": "omnichannel.channels.email.EmailBackend"}'
    ),
    "PUBLIC_BASE_URL": types.optional(types.base_url),
    "DISPATCH_BATCH_SIZE": _count,
    "DISPATCH_IN_FLIGHT_GRACE_SECONDS": _seconds,
    "DISPATCH_LEASE_SECONDS": _seconds,
    "DISPATCH_SYNCHRONOUS_COMMIT": types.boolean,
    "RECONCILE_GIVE_UP_SECONDS": _seconds,
    "DISPATCH_TIME_BUDGET_SECONDS": _seconds,
    "FLOW_BATCH_SIZE": _count,
    "FLOW_LEASE_SECONDS": _seconds,
    "FLOW_TIME_BUDGET_SECONDS": _seconds,
    "CART_DETECTION_BATCH_SIZE": _count,
    "CART_DETECTION_TIME_BUDGET_SECONDS": _seconds,
    "SWEEP_INTERVAL_SECONDS": _seconds,
    "RETRY_MAX_ATTEMPTS": _count,
    "RETRY_BACKOFF_SECONDS": _seconds,
    "RETRY_BACKOFF_MAX_SECONDS": _seconds,
    "FLOW_MESSAGE_TTL_SECONDS": _seconds,
    "SMS_SEGMENT_BUDGET": _count,
    "SEND_WINDOWS": types.mapping(
        _channel_key,
        types.mapping(types.country_key, types.send_window, '{"*": ' + types.WINDOW_EXAMPLE + "}"),
        '{"sms": {"*": ' + types.WINDOW_EXAMPLE + "}}",
    ),
    "FLOW_PRIORITY_WINDOW_HOURS": types.number(unit="hours"),
    "FREQUENCY_CAPS": types.mapping(
        types.known_key(("all", *CHANNELS), '"all" or channel names'),
        types.frequency_cap,
        '{"email": ' + types.CAP_EXAMPLE + "}",
    ),
    "CHANNEL_PREFERENCES": types.mapping(
        types.country_key,
        types.list_of(types.one_of(CHANNELS), 'a list of channels, e.g. ["email", "sms"]'),
        '{"*": ["email", "push", "inbox", "sms", "whatsapp"]}',
    ),
    "CHANNEL_MIN_CART_VALUE": types.mapping(_channel_key, types.amount, '{"sms": 50}'),
    "RATE_LIMITS": types.mapping(
        _channel_key, types.optional(types.number(unit="messages per second")), '{"sms": 1.0}'
    ),
    "UNSUBSCRIBE_LINK_MAX_AGE_DAYS": _days,
    "EMAIL_FROM": _text,
    "TWILIO_ACCOUNT_SID": _text,
    "TWILIO_AUTH_TOKEN": _text,
    "TWILIO_FROM_NUMBER": _text,
    "TWILIO_MESSAGING_SERVICE_SID": _text,
    "TWILIO_WHATSAPP_FROM": _text,
    "TWILIO_VALIDITY_PERIOD": types.number(
        minimum=1, above=False, maximum=36000, whole=True, unit="seconds"
    ),
    "SMS_HELP_REPLY": _text,
    "VAPID_PUBLIC_KEY": _text,  # the key pair itself is omnichannel.E006's
    "VAPID_PRIVATE_KEY": _text,
    "VAPID_SUBJECT": _text,
    "PUSH_TTL": types.number(minimum=0, above=False, whole=True, unit="seconds"),
    "COUNTRY_HEADER": _text,
    "DOUBLE_OPT_IN_COUNTRIES": types.list_of(types.country, 'a list of codes, e.g. ["DE", "AT"]'),
    "DOUBLE_OPT_IN_MAX_AGE": _seconds,
    "POPUP_CACHE_TIMEOUT": types.number(minimum=0, above=False, unit="seconds"),
    "POPUP_MAX_PER_SESSION": _at_least_zero,
    "POPUP_MAX_PER_DAY": _at_least_zero,
    "POPUP_MIN_SUBMIT_SECONDS": types.number(minimum=0, above=False, unit="seconds"),
    "POPUP_FORM_MAX_AGE": _seconds,
    "POPUP_RATE_LIMITS": types.merged_over(
        DEFAULTS["POPUP_RATE_LIMITS"], types.optional(types.rate), "the popup API's limits"
    ),
    "AB_TESTS": types.record_of(
        {
            "min_sample": (_count, DEFAULTS["AB_TESTS"]["min_sample"]),
            "confidence": (
                types.number(minimum=0.5, above=False, maximum=0.9999),
                DEFAULTS["AB_TESTS"]["confidence"],
            ),
            "auto_promote": (types.boolean, DEFAULTS["AB_TESTS"]["auto_promote"]),
            "metric": (types.one_of(AB_TEST_METRICS), DEFAULTS["AB_TESTS"]["metric"]),
        },
        '{"min_sample": 500, "confidence": 0.99}',
    ),
    "WEBHOOK_BATCH_SIZE": _count,
    "WEBHOOK_LEASE_SECONDS": _seconds,
    "WEBHOOK_TIME_BUDGET_SECONDS": _seconds,
    "WEBHOOK_TIMEOUT_SECONDS": _seconds,
    "WEBHOOK_CONCURRENCY": types.number(minimum=1, above=False, maximum=32, whole=True),
    "WEBHOOK_MAX_ATTEMPTS": _count,
    "WEBHOOK_BACKOFF_SECONDS": _seconds,
    "WEBHOOK_BACKOFF_MAX_SECONDS": _seconds,
    "WEBHOOK_DISABLE_AFTER_FAILURES": _count,
    "WEBHOOK_SECRET_ROTATION_HOURS": types.number(minimum=0, above=False, unit="hours"),
    "RETENTION_DAYS": types.merged_over(
        DEFAULTS["RETENTION_DAYS"],
        types.optional(types.number(minimum=1, above=False, whole=True, unit="days")),
        "the kinds of history",
    ),
    "RETENTION_BATCH_SIZE": types.number(minimum=1, above=False, maximum=1000, whole=True),
}


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
    """Attribute access to ``settings.OMNICHANNEL`` with defaults, parsed and checked.

    Each attribute is the parsed value (see ``PARSERS``), cached on first access; a value
    that cannot be used raises ImproperlyConfigured naming it. ``problems()`` lists every
    problem of every value at once, for the system checks; ``reload()`` drops the cache.
    """

    def __init__(self, defaults=None, import_strings=None, parsers=None):
        self.defaults = defaults or DEFAULTS
        self.import_strings = import_strings or IMPORT_STRINGS
        self.parsers = parsers or PARSERS
        self._cached_attrs = set()
        self._user_settings = None

    @property
    def user_settings(self):
        """``settings.OMNICHANNEL``; raises when it is not a dict or has unknown keys."""
        problems = self.top_level_problems()
        if problems:
            raise ImproperlyConfigured(describe(problems))
        return self._user_settings

    def top_level_problems(self):
        if self._user_settings is None:
            user_settings = getattr(settings, SETTINGS_NAME, {})
            self._user_settings = {} if user_settings is None else user_settings
        if not isinstance(self._user_settings, dict):
            return [
                types.Problem(
                    types.WRONG_TYPE,
                    f"settings.{SETTINGS_NAME} must be a dict, not {self._user_settings!r}.",
                    f'Write {SETTINGS_NAME} = {{"SHOP_ADAPTER": "myshop.omnichannel.Adapter"}}.',
                )
            ]
        return unknown_key_problems(self._user_settings)

    def raw(self, attr):
        """``(name, value)``: the value set for ``attr``, or for the old name it falls back
        to (see ALIASES), or the default; ``name`` is where it was set."""
        user_settings = self.user_settings
        for name in (attr, ALIASES.get(attr)):
            if name in user_settings:
                return name, user_settings[name]
        return attr, self.defaults[attr]

    def parsed(self, attr):
        """``attr``'s parsed value; raises ``setting_types.Invalid``."""
        name, value = self.raw(attr)
        where = f"{SETTINGS_NAME}[{name!r}]"
        try:
            return self.parsers[attr](value, where)
        except types.Invalid as exc:
            default = self.defaults[attr]
            if isinstance(default, dict | list | tuple):
                raise  # too long for a hint; the README lists it
            addition = f"The default is {default!r}."
            raise types.Invalid(
                *(types.about_itself(p, where, addition) for p in exc.problems)
            ) from None

    def __getattr__(self, attr):
        if attr not in self.defaults:
            raise AttributeError(f"Invalid omnichannel setting: {attr!r}")
        try:
            value = self.parsed(attr)
        except types.Invalid as exc:
            raise ImproperlyConfigured(describe(exc.problems)) from None
        if attr in self.import_strings:
            value = perform_import(value, attr)
        self._cached_attrs.add(attr)
        setattr(self, attr, value)
        return value

    def problems(self):
        """Every problem of ``OMNICHANNEL``: its shape first, else each value's."""
        problems = self.top_level_problems()
        if problems:
            return problems
        for attr in self.defaults:
            try:
                self.parsed(attr)
            except types.Invalid as exc:
                # A value set under an old name is read for its new names too: once (the
                # first time, under the old name's own default; a new name's may differ).
                named = {p.message for p in problems}
                problems += [p for p in exc.problems if p.message not in named]
        return problems

    def reload(self):
        for attr in self._cached_attrs:
            delattr(self, attr)
        self._cached_attrs.clear()
        self._user_settings = None


def describe(problems):
    return " ".join(f"{p.message} {p.hint} ({p.id})" for p in problems)


def unknown_key_problems(user_settings):
    """One problem per key of ``OMNICHANNEL`` that the app does not know."""
    problems = []
    for key in user_settings:
        if key in DEFAULTS:
            continue
        close = difflib.get_close_matches(str(key), DEFAULTS, n=1)
        hint = (
            f"Did you mean {close[0]!r}?" if close else "See the settings reference in the README."
        )
        problems.append(
            types.Problem(types.UNKNOWN_KEY, f"Unknown setting {SETTINGS_NAME}[{key!r}].", hint)
        )
    return problems


omnichannel_settings = OmnichannelSettings()


def reload_omnichannel_settings(*args, setting, **kwargs):
    if setting == SETTINGS_NAME:
        omnichannel_settings.reload()


setting_changed.connect(reload_omnichannel_settings)
