"""The dispatcher's Celery task, beside the dispatcher it runs.

Queueing a message sends it as a wake-up, and beat runs it every
``SWEEP_INTERVAL_SECONDS``; either way the work is found in the database. It lives here
rather than in ``omnichannel.tasks`` because the queueing code sends it, and that module
imports the flow engine, which queues messages: the outbox must not import it back.
``omnichannel.tasks`` imports this module, so a worker registers the task with the rest.
"""

from celery import shared_task

from . import dispatch


@shared_task(name="omnichannel.dispatch_due", ignore_result=True)
def dispatch_due():
    """Send what is due (beat runs it every ``SWEEP_INTERVAL_SECONDS``)."""
    return dispatch.sweep().__dict__
