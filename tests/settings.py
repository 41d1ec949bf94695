"""Settings for the test suite.

Fast tier: SQLite in memory and Celery's in-memory broker. Services tier: the same suite
with ``DATABASE_URL`` (PostgreSQL) and ``CELERY_BROKER_URL`` (Redis) set, which
``tests/run`` does.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = True
# The languages omnichannel ships translations for; LocaleMiddleware picks one per request.
LANGUAGES = [
    ("en", "English"),
    ("fr", "Français"),
    ("ru", "Русский"),
    ("bg", "Български"),
    ("sk", "Slovenčina"),
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
    # allauth is installed so that the allauth receiver is tested against the real signal.
    "allauth",
    "allauth.account",
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
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "sample_shop.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "sample_shop" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

if os.environ.get("DATABASE_URL"):
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"])}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STATIC_URL = "/static/"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://")
# The services tier gives each test run its own queue.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("OMNICHANNEL_TEST_QUEUE", "celery")
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

OMNICHANNEL = {
    "SHOP_ADAPTER": "sample_shop.shop.omnichannel_adapter.SampleShopAdapter",
    "DEFAULT_CURRENCY": "EUR",
    "PUBLIC_BASE_URL": "https://shop.example.com",
}

# Read by the sample shop's adapter (get_shop_context): the test client's host.
SHOP_BASE_URL = "http://testserver"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"omnichannel": {"handlers": ["console"], "level": "WARNING"}},
}
