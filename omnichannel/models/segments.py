"""Segments: saved lists of contact conditions, reusable as a flow condition."""

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.deletion import ProtectedError
from django.utils.translation import gettext_lazy as _

from .flows import Flow, Step


class Segment(models.Model):
    """A named list of conditions from the flow conditions registry (all must hold).

    Flows use it through the ``in_segment`` condition, by slug; so the slug cannot change
    once saved, and a segment that a flow or step names cannot be deleted.
    """

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(
        _("slug"),
        unique=True,
        help_text=_("How flows name it (the “is in a segment” condition). Fixed once saved."),
    )
    description = models.TextField(_("description"), blank=True)
    conditions = models.JSONField(
        _("conditions"),
        default=list,
        blank=True,
        help_text=_(
            'A contact is in the segment when it meets all of them, e.g. [{"name": '
            '"has_ordered"}, {"name": "country_in", "params": {"countries": ["FR"]}}]. '
            "Empty: every contact."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        cache.delete(self.cache_key(self.slug))

    def delete(self, *args, **kwargs):
        users = self.used_by()
        if users:
            raise ProtectedError(
                f"Segment {self.slug!r} is used by {', '.join(map(str, users))}.", set(users)
            )
        cache.delete(self.cache_key(self.slug))
        return super().delete(*args, **kwargs)

    @staticmethod
    def cache_key(slug):
        """Where ``omnichannel.contacts.segments`` caches the conditions of segment ``slug``."""
        return f"omnichannel:segment:{slug}"

    #: Cleans ``conditions`` against the flow conditions registry (ValidationError when
    #: they are wrong). The registry sits above the models, so ``contacts/segments.py``
    #: installs the function when the app loads (``AppConfig.ready`` imports it).
    validate_conditions = None

    def clean(self):
        try:
            self.conditions = self.validate_conditions(self.conditions)
        except ValidationError as exc:
            raise ValidationError({"conditions": exc.messages}) from exc

    def used_by(self):
        """The flows and steps whose conditions name this segment.

        Conditions are JSON, which SQLite cannot search inside: flows and steps with
        conditions are read and checked here (a shop has tens of them, not thousands).
        """
        return [
            owner
            for owners in (Flow.objects.all(), Step.objects.select_related("flow"))
            for owner in owners.exclude(conditions=[])
            if any(
                entry.get("name") == "in_segment"
                and (entry.get("params") or {}).get("segment") == self.slug
                for entry in owner.conditions
                if isinstance(entry, dict)
            )
        ]
