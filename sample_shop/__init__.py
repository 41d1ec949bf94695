"""A small demo shop that uses omnichannel only through its public bridge.

The Celery app is imported here so that ``@shared_task`` functions bind to it as soon as
Django starts.
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
