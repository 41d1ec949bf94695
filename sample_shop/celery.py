"""The Celery app of the sample shop: settings come from Django's ``CELERY_*`` names."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sample_shop.settings")

app = Celery("sample_shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
