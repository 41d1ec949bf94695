"""The webhook sweeper's Celery task, beside the sweeper it runs.

Queueing an event sends it as a wake-up, and beat runs it every ``SWEEP_INTERVAL_SECONDS``;
either way the work is found in the database. ``omnichannel.tasks`` imports this module,
so a worker registers the task with the rest.
"""

from celery import shared_task

from . import delivery


@shared_task(name="omnichannel.deliver_webhooks", ignore_result=True)
def deliver_webhooks():
    """POST the due webhook deliveries (beat runs it every ``SWEEP_INTERVAL_SECONDS``)."""
    return delivery.sweep().__dict__
