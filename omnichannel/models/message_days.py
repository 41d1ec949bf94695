"""The marketing home's daily rollup of messages: what became of each day's sends.

A row holds, for one day (in ``time_zone``, the zone the marketing home buckets in), one
channel and one cost currency, the messages *sent* that day and their fates so far: the
``MessageCounts`` of ``flows.results``. ``SummarizedDay`` records when a day's rows were
last rebuilt, so a day without messages is still known to be covered, and a day rebuilt
before it ended (or in another zone) is known not to be.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .channels import Channel


class MessageDay(models.Model):
    day = models.DateField(_("day"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    cost_currency = models.CharField(_("cost currency"), max_length=3, blank=True)
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    opened = models.PositiveIntegerField(default=0)
    opened_by_people = models.PositiveIntegerField(default=0)
    clicked = models.PositiveIntegerField(default=0)
    unsubscribed = models.PositiveIntegerField(default=0)
    bounced = models.PositiveIntegerField(default=0)
    # The sum of the known costs; empty when none of the day's messages had one, as the
    # live query's ``Sum`` is.
    cost = models.DecimalField(max_digits=16, decimal_places=5, null=True, blank=True)

    class Meta:
        verbose_name = _("messages of a day")
        verbose_name_plural = _("messages per day")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "channel", "cost_currency"], name="omnichannel_message_day"
            )
        ]

    def __str__(self):
        return f"{self.day} {self.channel} {self.cost_currency}: {self.sent}"


class SummarizedDay(models.Model):
    day = models.DateField(_("day"), unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64)
    built_at = models.DateTimeField(_("rebuilt"))

    class Meta:
        verbose_name = _("summarized day")
        verbose_name_plural = _("summarized days")

    def __str__(self):
        return f"{self.day} ({self.time_zone}, {self.built_at:%Y-%m-%d %H:%M})"
