"""A contact's timeline in the admin: the newest entries on the contact's page, and the
full history on a page of its own with filters and keyset pagination.

The page is served by ``ContactAdmin`` (``<pk>/timeline/``), wrapped in ``admin_view``
and checked like Django's own history view: whoever may view the contact may read its
timeline. Each entry links to its object's admin page where the model has one; that
page checks its own permissions.
"""

from datetime import datetime, time, timedelta

from django import forms
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from ..contacts.timeline import Cursor, Kind, Page, contact_timeline
from ..models.channels import Channel

PAGE_SIZE = 50
SUMMARY_SIZE = 20
ENTRIES_TEMPLATE = "admin/omnichannel/contact/timeline_entries.html"


class TimelineFilterForm(forms.Form):
    """The filters, read from the query string; every field is optional."""

    channel = forms.MultipleChoiceField(
        label=gettext_lazy("Channels"),
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    kind = forms.MultipleChoiceField(
        label=gettext_lazy("Show"),
        choices=Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    since = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    until = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    # The page's cursor: written by the "Older entries" link, never typed.
    before = forms.CharField(required=False)

    def clean_before(self):
        value = self.cleaned_data["before"]
        if not value:
            return None
        try:
            return Cursor.parse(value)
        except ValueError:
            raise ValidationError(
                _("This page link is damaged: start again from the newest entries.")
            ) from None

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end date is before the start date."))
        return data

    def timeline_filters(self):
        """``contact_timeline`` arguments; the dates are whole days in the active zone."""
        data = self.cleaned_data
        return {
            "before": data["before"],
            "channels": data["channel"],
            "kinds": data["kind"],
            "since": day_start(data["since"]),
            "until": day_start(data["until"] and data["until"] + timedelta(days=1)),
        }


def day_start(day):
    return timezone.make_aware(datetime.combine(day, time.min)) if day else None


def admin_url(site, obj):
    """The change page of ``obj`` on ``site``, or '' where its model has none there."""
    if obj is None or not site.is_registered(type(obj)):
        return ""
    opts = obj._meta
    return reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)])


def entry_rows(entries, site):
    return [(entry, admin_url(site, entry.obj)) for entry in entries]


def timeline_summary(contact, site):
    """The newest entries and a link to the full timeline, for the contact's page."""
    page = contact_timeline(contact, limit=SUMMARY_SIZE)
    full = reverse(f"{site.name}:omnichannel_contact_timeline", args=[quote(contact.pk)])
    return render_to_string(
        ENTRIES_TEMPLATE, {"rows": entry_rows(page.entries, site), "full_timeline_url": full}
    )


class ContactTimelineView(View):
    """The full timeline of one contact, a page at a time, newest first."""

    model_admin = None
    template_name = "admin/omnichannel/contact/timeline.html"

    def get(self, request, object_id):
        model_admin = self.model_admin
        contact = model_admin.get_object(request, unquote(object_id))
        if contact is None:
            return model_admin._get_obj_does_not_exist_redirect(
                request, model_admin.opts, object_id
            )
        if not model_admin.has_view_or_change_permission(request, contact):
            raise PermissionDenied
        form = TimelineFilterForm(request.GET)
        if form.is_valid():
            page = contact_timeline(contact, limit=PAGE_SIZE, **form.timeline_filters())
        else:
            page = Page(entries=[], next_cursor=None)
        site = model_admin.admin_site
        request.current_app = site.name
        context = {
            **site.each_context(request),
            "title": _("Timeline: %(contact)s") % {"contact": contact},
            "subtitle": None,
            "opts": model_admin.opts,
            "object": contact,
            "form": form,
            "rows": entry_rows(page.entries, site),
            "show_events": True,
            "next_cursor": str(page.next_cursor or ""),
            "is_first_page": not request.GET.get("before"),
        }
        return TemplateResponse(request, self.template_name, context)
