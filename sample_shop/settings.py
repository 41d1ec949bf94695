"""Settings of the sample shop.

Everything a demo needs works with no environment at all: SQLite under ``<repo>/var/``
(``DEMO_VAR_DIR`` to put it elsewhere) and no broker server (see the Celery section). Set
``DATABASE_URL`` and ``CELERY_BROKER_URL`` to run it against PostgreSQL and Redis instead.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

PROJECT_DIR = Path(__file__).resolve().parent
BASE_DIR = PROJECT_DIR.parent
VAR_DIR = Path(os.environ.get("DEMO_VAR_DIR") or BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_flag(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_flag("DJANGO_DEBUG", True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY when DJANGO_DEBUG is off.")
    SECRET_KEY = "django-insecure-sample-shop-demo-key-do-not-use-in-production"

if DEBUG:
    ALLOWED_HOSTS = ["*"]
else:
    ALLOWED_HOSTS = [
        host.strip()
        for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",")
        if host.strip()
    ]

INSTALLED_APPS = [
    # Above django.contrib.admin, so that its admin home (Marketing first) is the one used.
    "omnichannel",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_celery_beat",
    "sample_shop.shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "sample_shop.urls"
WSGI_APPLICATION = "sample_shop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PROJECT_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sample_shop.shop.context_processors.cart",
            ],
        },
    },
]

# --- database --------------------------------------------------------------------------

if os.environ.get("DATABASE_URL"):
    # Imported only here, so the SQLite demo runs without dj-database-url installed.
    import dj_database_url

    DATABASES = {"default": dj_database_url.config(conn_max_age=600)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "demo.sqlite3",
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- auth ------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "shop:account"
LOGOUT_REDIRECT_URL = "shop:product_list"

# --- i18n, static, email -----------------------------------------------------------------

LANGUAGE_CODE = "en-us"
# The languages omnichannel ships translations for; LocaleMiddleware picks one per request.
LANGUAGES = [
    ("en", "English"),
    ("fr", "Français"),
    ("ru", "Русский"),
    ("bg", "Български"),
    ("sk", "Slovenčina"),
]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = "Sample Shop <shop@example.com>"

# --- celery ----------------------------------------------------------------------------

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL")
if CELERY_BROKER_URL:
    CELERY_TASK_ALWAYS_EAGER = False
else:
    # No broker at all. A task message is only a wake-up: every periodic task finds its
    # work in the database, so ``celery beat`` can run each one itself when it falls due
    # (demo.sh sets DEMO_BEAT_RUNS_TASKS for that process). Nothing is written to a broker
    # file that a reader could find half-written, and nothing can stop the sweeps but the
    # process itself. The shop's own wake-ups go to an in-memory queue no one reads (at
    # most one a second, and only when it queues a message); the next sweep, seconds
    # later, sends what they would have.
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = env_flag("DEMO_BEAT_RUNS_TASKS", False)
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- omnichannel -----------------------------------------------------------------------

# Where the shop is reachable, for links that leave the site (messages, the adapter).
SHOP_BASE_URL = os.environ.get("SHOP_BASE_URL", "http://127.0.0.1:8000")

# The demo's flows run on a fast clock: load_demo_data installs the welcome series with a
# minute for each day, and the frequency caps below shrink the same way, so a signup shows
# the whole series in the admin's Messages log within minutes. DEMO_FAST_FLOWS=0 for days.
DEMO_FAST_FLOWS = env_flag("DEMO_FAST_FLOWS", True)

OMNICHANNEL = {
    "SHOP_ADAPTER": "sample_shop.shop.omnichannel_adapter.SampleShopAdapter",
    "DEFAULT_CURRENCY": "EUR",
    # Orders awaiting a bank transfer are tracked but are not purchases until paid.
    "PURCHASE_ORDER_STATUSES": ["paid", "shipped"],
    # Marking an order shipped in the admin starts the review request.
    "REVIEW_ORDER_STATUSES": ["shipped"],
    # Links in messages point here (click tracking, unsubscribe, cart restore).
    "PUBLIC_BASE_URL": SHOP_BASE_URL,
    # Texts are printed by the worker instead of sent, so the demo needs no Twilio account.
    "CHANNEL_BACKENDS": {
        "email": "omnichannel.channels.email.EmailBackend",
        "inbox": "omnichannel.channels.inbox.InboxBackend",
        "sms": "omnichannel.channels.console.ConsoleBackend",
    },
    # Every optional signup field, to show them all; a real shop asks for fewer.
    "SIGNUP_PROFILE_FIELDS": ["country", "birth_year", "phone", "email_frequency"],
}
if DEMO_FAST_FLOWS:
    # A cart counts as abandoned after 2 minutes instead of 30, browsing as ended after 2
    # instead of 60.
    OMNICHANNEL["CART_IDLE_MINUTES"] = 2
    OMNICHANNEL["BROWSE_IDLE_MINUTES"] = 2
    # A buyer lapses (win-back) 10 minutes after their last order instead of 90 days, and
    # a flow holds lower-priority ones back a minute instead of a day.
    OMNICHANNEL["WINBACK_AFTER_DAYS"] = 10 / (24 * 60)
    OMNICHANNEL["FLOW_PRIORITY_WINDOW_HOURS"] = 1 / 60
    # The default caps (email 1 per 16 h, others 1 per 24 h) on the demo's minute-long days.
    OMNICHANNEL["FREQUENCY_CAPS"] = {
        channel: {"count": 1, "hours": hours / 24 / 60, "action": "defer"}
        for channel, hours in {"email": 16, "sms": 24, "whatsapp": 24, "push": 24}.items()
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        # The bridge logs, rather than raises, anything that goes wrong on its side.
        "omnichannel": {"handlers": ["console"], "level": "INFO"},
    },
}
