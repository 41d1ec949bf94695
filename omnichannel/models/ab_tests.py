"""The history of A/B tests: each winner found, and each promotion, as it was then.

A row is never changed or deleted by the app: it keeps the figures the decision was taken
on, and the names of the test and its winner, so it still reads right after the popup,
step or variant was renamed or deleted.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ABTestKind(models.TextChoices):
    POPUP = "popup", _("Popup")
    STEP = "step", _("Message step")


class ABTestDecision(models.Model):
    kind = models.CharField(_("kind"), max_length=8, choices=ABTestKind.choices)
    popup = models.ForeignKey(
        "omnichannel.Popup",
        verbose_name=_("popup"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ab_test_decisions",
    )
    step = models.ForeignKey(
        "omnichannel.Step",
        verbose_name=_("step"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ab_test_decisions",
    )
    # A popup's variants are its translations too: each language is a test of its own.
    locale = models.CharField(_("language"), max_length=16, blank=True)
    subject = models.CharField(_("test"), max_length=200)
    metric = models.CharField(_("measured by"), max_length=16)
    winner_id = models.PositiveIntegerField(_("winner id"))
    winner_name = models.CharField(_("winner"), max_length=100)
    # [{"variant_id", "name", "sample", "conversions"}], best rate first.
    figures = models.JSONField(_("figures"), default=list)
    confidence = models.FloatField(_("confidence"))
    decided_at = models.DateTimeField(_("decided"), default=timezone.now, db_index=True)
    promoted = models.BooleanField(_("promoted"), default=False)
    # Empty: the periodic task decided (AB_TESTS["auto_promote"], or a winner noted).
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("A/B test decision")
        verbose_name_plural = _("A/B test decisions")
        ordering = ["-decided_at", "-id"]

    def __str__(self):
        return f"{self.subject}: {self.winner_name}"
