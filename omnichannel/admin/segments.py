"""Segments in the admin: the conditions builder flows use, and who matches right now."""

from itertools import islice

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from ..contacts import segments
from ..models import Segment
from .flows.widgets import ConditionsField

SAMPLE_SIZE = 10


class SegmentConditionsField(ConditionsField):
    """The flow conditions builder, refusing a segment inside a segment."""

    def clean(self, value):
        return segments.validate_conditions(value or [])


class SegmentForm(forms.ModelForm):
    conditions = SegmentConditionsField(
        label=_("Conditions"),
        help_text=_("A contact is in the segment when they meet all of these. None: everyone."),
    )

    class Meta:
        model = Segment
        fields = ("name", "slug", "description", "conditions")


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentForm
    list_display = ("name", "slug", "contact_count", "updated_at")
    search_fields = ("name", "slug", "description")
    fields = ("name", "slug", "description", "conditions", "matching")

    def get_readonly_fields(self, request, obj=None):
        # Flows name a segment by its slug: renaming it would break them.
        return ("slug", "matching") if obj else ("matching",)

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj else {"slug": ("name",)}

    def get_deleted_objects(self, objs, request):
        """Flows and steps using a segment protect it, as a PROTECT foreign key would."""
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        protected = [
            *protected,
            *(
                _("%(owner)s uses %(segment)s") % {"owner": owner, "segment": segment}
                for segment in objs
                for owner in segment.used_by()
            ),
        ]
        return deleted, model_count, perms_needed, protected

    @admin.display(description=_("contacts"))
    def contact_count(self, obj):
        try:
            return segments.count(obj.conditions)
        except (ValidationError, KeyError):
            return _("conditions to fix")

    @admin.display(description=_("matching contacts now"))
    def matching(self, obj):
        if obj.pk is None:
            return _("Save the segment to see how many contacts it holds.")
        try:
            total = segments.count(obj.conditions)
            sample = list(islice(segments.members(obj.conditions), SAMPLE_SIZE))
        except (ValidationError, KeyError):
            return _("The conditions need fixing before contacts can be counted.")
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:omnichannel_contact_change", args=[contact.pk]), contact)
                for contact in sample
            ),
        )
        more = "…" if total > len(sample) else ""
        return format_html("<strong>{}</strong> {}{}", total, links, more)
