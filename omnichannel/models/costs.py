"""What a message costs, per channel and country, as staff enter it."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .channels import Channel


class ChannelCost(models.Model):
    """Price of one message (one segment for SMS) on a channel, optionally per country.

    Used when the provider does not report a price, so that cost per message and per
    result can be shown for every channel.
    """

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    country = models.CharField(
        _("country"), max_length=2, blank=True, help_text=_("ISO code; empty for any country.")
    )
    amount = models.DecimalField(_("cost per message or segment"), max_digits=10, decimal_places=5)
    currency = models.CharField(_("currency"), max_length=3)

    class Meta:
        verbose_name = _("channel cost")
        verbose_name_plural = _("channel costs")
        ordering = ["channel", "country"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "country"], name="omnichannel_cost_uniq")
        ]

    def __str__(self):
        where = self.country or _("any country")
        return f"{self.get_channel_display()} ({where}): {self.amount} {self.currency}"
