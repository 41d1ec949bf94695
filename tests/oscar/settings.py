"""A plain django-oscar 4.2 shop with omnichannel added as an Oscar integrator would add it:
Oscar's own settings, its apps, ``omnichannel`` and ``omnichannel.contrib.oscar``, and an
``OMNICHANNEL`` without any adapter. The oscar tier (``tests/run oscar``) runs with it, on
SQLite, then on PostgreSQL with ``DATABASE_URL``; ``sh sample_shop/demo_oscar.sh`` serves it.
"""

import os
from pathlib import Path

from oscar import INSTALLED_APPS as OSCAR_APPS
from oscar.defaults import *  # noqa: F403  (Oscar's settings, as its docs ask)

from omnichannel.contrib.oscar.dashboard import MARKETING_NAVIGATION

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "oscar-tests-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = True
LANGUAGE_CODE = "en"
SITE_ID = 1

# omnichannel.contrib.oscar comes before Oscar, so that its template overrides win.
shop = OSCAR_APPS.index("oscar.config.Shop")
INSTALLED_APPS = [
    *OSCAR_APPS[:shop],
    "omnichannel.contrib.oscar",
    *OSCAR_APPS[shop:],
    "sorl.thumbnail",
    "rest_framework",
    "django_celery_beat",
    "omnichannel",
    "tests.oscar.apps.OscarShopConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "oscar.apps.basket.middleware.BasketMiddleware",
    "django.contrib.flatpages.middleware.FlatpageFallbackMiddleware",
]

ROOT_URLCONF = "tests.oscar.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.template.context_processors.i18n",
                "django.contrib.messages.context_processors.messages",
                "oscar.apps.search.context_processors.search_form",
                "oscar.apps.checkout.context_processors.checkout",
                "oscar.apps.communication.notifications.context_processors.notifications",
                "oscar.core.context_processors.metadata",
            ]
        },
    }
]

AUTHENTICATION_BACKENDS = [
    "oscar.apps.customer.auth_backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
]

HAYSTACK_CONNECTIONS = {"default": {"ENGINE": "haystack.backends.simple_backend.SimpleEngine"}}

if os.environ.get("DATABASE_URL"):
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("OSCAR_SQLITE_PATH", ":memory:"),
        }
    }

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STATIC_URL = "/static/"
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / "var" / "oscar-media"
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://")
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

OSCAR_SHOP_NAME = "Oscar test shop"
OSCAR_DEFAULT_CURRENCY = "EUR"
OSCAR_ALLOW_ANON_CHECKOUT = True
# The order pipeline of Oscar's sandbox.
OSCAR_INITIAL_ORDER_STATUS = "Pending"
OSCAR_INITIAL_LINE_STATUS = "Pending"
OSCAR_ORDER_STATUS_PIPELINE = {
    "Pending": ("Being processed", "Cancelled"),
    "Being processed": ("Complete", "Cancelled"),
    "Cancelled": (),
    "Complete": (),
}
OSCAR_DASHBOARD_NAVIGATION = [*OSCAR_DASHBOARD_NAVIGATION, MARKETING_NAVIGATION]  # noqa: F405

# No SHOP_ADAPTER: omnichannel.contrib.oscar brings it.
OMNICHANNEL = {
    "DEFAULT_CURRENCY": "EUR",
    "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://testserver"),
}
OMNICHANNEL_OSCAR_ORDER_STATUSES = {"Pending": "placed", "Cancelled": "cancelled"}

if os.environ.get("OSCAR_DEMO") == "1":
    # sh sample_shop/demo_oscar.sh: emails printed, carts abandoned after two minutes, and
    # without CELERY_BROKER_URL kombu's filesystem transport, a broker with no server.
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    OMNICHANNEL["CART_IDLE_MINUTES"] = 2
    if CELERY_BROKER_URL == "memory://":
        broker_dir = BASE_DIR / "var" / "oscar-demo-broker"
        for folder in ("out", "processed", "control"):
            (broker_dir / folder).mkdir(parents=True, exist_ok=True)
        CELERY_BROKER_URL = "filesystem://"
        CELERY_BROKER_TRANSPORT_OPTIONS = {
            "data_folder_in": str(broker_dir / "out"),
            "data_folder_out": str(broker_dir / "out"),
            "processed_folder": str(broker_dir / "processed"),
            "control_folder": str(broker_dir / "control"),
        }
