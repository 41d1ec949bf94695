"""The app's periodic tasks, installed into django-celery-beat.

They live in the database (not in ``CELERY_BEAT_SCHEDULE``) so staff can see, pause and
retime them in the admin. Installing is idempotent: an existing task keeps the interval
and enabled flag staff gave it.
"""

from django.db import transaction

from .conf import omnichannel_settings


def periodic_tasks():
    """name -> (task, every N seconds)."""
    return {
        "omnichannel: send due messages": (
            "omnichannel.dispatch_due",
            omnichannel_settings.SWEEP_INTERVAL_SECONDS,
        ),
        "omnichannel: advance flows": (
            "omnichannel.advance_flows",
            omnichannel_settings.SWEEP_INTERVAL_SECONDS,
        ),
        "omnichannel: deliver webhooks": (
            "omnichannel.deliver_webhooks",
            omnichannel_settings.SWEEP_INTERVAL_SECONDS,
        ),
        "omnichannel: detect abandoned carts": ("omnichannel.detect_abandoned_carts", 60),
        "omnichannel: detect lapsed buyers": ("omnichannel.detect_lapsed_buyers", 300),
        "omnichannel: detect abandoned browsing": ("omnichannel.detect_abandoned_browsing", 60),
        "omnichannel: announce back in stock and price drops": (
            "omnichannel.announce_product_news",
            60,
        ),
        "omnichannel: expire stale carts": ("omnichannel.expire_stale_carts", 3600),
        "omnichannel: decide A/B tests": ("omnichannel.decide_ab_tests", 3600),
        # Hourly: late opens and clicks reach a past day's figures within the hour, for
        # about the cost of one 30-day page.
        "omnichannel: summarize messages": ("omnichannel.summarize_messages", 3600),
        "omnichannel: purge old data": ("omnichannel.purge_old_data", 24 * 3600),
    }


def install_periodic_tasks():
    """Create the missing periodic tasks; returns the names created."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    created = []
    with transaction.atomic():
        for name, (task, seconds) in periodic_tasks().items():
            if PeriodicTask.objects.filter(name=name).exists():
                continue
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=seconds, period=IntervalSchedule.SECONDS
            )
            PeriodicTask.objects.create(name=name, task=task, interval=interval)
            created.append(name)
    return created
