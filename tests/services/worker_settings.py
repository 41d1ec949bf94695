"""Settings of the worker processes the services tier starts.

The fast timings (1 s beat, 5 s leases and budgets for every sweep, 1 s backoff) let crash
recovery and retries happen within a test; the fake provider stands in for an ESP at the
network boundary.
"""

from tests.settings import *  # noqa: F403

OMNICHANNEL = {
    **OMNICHANNEL,  # noqa: F405
    "CHANNEL_BACKENDS": {"email": "tests.services.fake_provider.HttpProviderBackend"},
    "DISPATCH_LEASE_SECONDS": 5,
    "DISPATCH_TIME_BUDGET_SECONDS": 5,
    "FLOW_LEASE_SECONDS": 5,
    "FLOW_TIME_BUDGET_SECONDS": 5,
    "CART_DETECTION_TIME_BUDGET_SECONDS": 5,
    "SWEEP_INTERVAL_SECONDS": 1,
    "RETRY_BACKOFF_SECONDS": 1,
    "RETRY_BACKOFF_MAX_SECONDS": 2,
    "RETRY_MAX_ATTEMPTS": 30,
}

CELERY_BEAT_SCHEDULER = "celery.beat:PersistentScheduler"
CELERY_BEAT_SCHEDULE = {"sweep": {"task": "omnichannel.dispatch_due", "schedule": 1.0}}
