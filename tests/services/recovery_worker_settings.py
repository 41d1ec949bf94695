"""Worker settings for the cart-recovery fault run: the beat also detects abandoned carts
and advances flows every second (production: every ``SWEEP_INTERVAL_SECONDS`` and minute),
and email goes to the in-memory backend, since only what is queued is judged there."""

from tests.services.loaded_worker_settings import *  # noqa: F403

OMNICHANNEL = {
    **OMNICHANNEL,  # noqa: F405
    "CHANNEL_BACKENDS": {"email": "omnichannel.channels.locmem.LocmemBackend"},
}
CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,  # noqa: F405
    "advance": {"task": "omnichannel.advance_flows", "schedule": 1.0},
    "detect": {"task": "omnichannel.detect_abandoned_carts", "schedule": 1.0},
}
