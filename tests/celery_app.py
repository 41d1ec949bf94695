"""The Celery app the services tier's worker process runs (``celery -A tests.celery_app``)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

app = Celery("omnichannel_tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["omnichannel"])
