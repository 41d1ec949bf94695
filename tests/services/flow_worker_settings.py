"""Worker settings for the flow tests: the dispatcher's fast timings plus a beat that also
advances flows every second, as ``omnichannel.schedule`` installs it in production (there
every ``SWEEP_INTERVAL_SECONDS``)."""

from tests.services.worker_settings import *  # noqa: F403

CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,  # noqa: F405
    "advance": {"task": "omnichannel.advance_flows", "schedule": 1.0},
}
