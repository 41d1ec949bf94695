"""Worker settings for the outgoing webhook tests: a beat that runs the webhook sweeper
every second, as ``omnichannel.schedule`` installs it (there every
``SWEEP_INTERVAL_SECONDS``), a 1 s POST timeout and a 1 s backoff, so retries happen
within a test."""

from tests.services.worker_settings import *  # noqa: F403

OMNICHANNEL = {
    **OMNICHANNEL,  # noqa: F405
    "WEBHOOK_TIMEOUT_SECONDS": 1,
    "WEBHOOK_LEASE_SECONDS": 10,
    "WEBHOOK_TIME_BUDGET_SECONDS": 5,
    "WEBHOOK_BACKOFF_SECONDS": 1,
    "WEBHOOK_BACKOFF_MAX_SECONDS": 4,
}

CELERY_BEAT_SCHEDULE = {"webhooks": {"task": "omnichannel.deliver_webhooks", "schedule": 1.0}}
