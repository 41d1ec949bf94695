import re

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..contacts.privacy.erasure import erase_contact
from ..contacts.privacy.export import dumps, export_contacts
from ..core.normalize import normalize_phone
from ..models import CartSnapshot, Consent, ConsentEvent, Contact, TrackedOrder
from ..models.privacy import ERASED_CONTACT_UUID
from .timeline import ContactTimelineView, timeline_summary


class ReadOnlyInline(admin.TabularInline):
    """History shown on the contact page; it is written by the app, never by hand."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ConsentInline(ReadOnlyInline):
    model = Consent
    fields = (
        "channel",
        "purpose",
        "status",
        "source",
        "granted_at",
        "confirmed_at",
        "withdrawn_at",
    )
    readonly_fields = fields


class ConsentEventInline(ReadOnlyInline):
    model = ConsentEvent
    verbose_name_plural = _("consent ledger")
    fields = ("created_at", "channel", "purpose", "status", "source", "wording", "ip_address")
    readonly_fields = fields
    show_change_link = False


class CartInline(ReadOnlyInline):
    model = CartSnapshot
    fields = ("cart_key", "status", "item_count", "value", "currency", "last_activity_at")
    readonly_fields = fields


class OrderInline(ReadOnlyInline):
    model = TrackedOrder
    fields = ("order_key", "status", "is_purchase", "total", "currency", "placed_at")
    readonly_fields = fields


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "email",
        "phone",
        "full_name",
        "country",
        "user",
        "source",
        "created_at",
    )
    list_filter = ("source", "country", ("signed_up_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("email", "phone", "first_name", "last_name", "uuid", "user__username")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = (
        "uuid", "signed_up_at", "created_at", "updated_at", "effective_time_zone", "timeline",
    )  # fmt: skip
    fieldsets = (
        (None, {"fields": ("uuid", "email", "phone", "user")}),
        (
            _("Profile"),
            {
                "fields": (
                    "first_name",
                    "last_name",
                    "locale",
                    "country",
                    "time_zone",
                    "effective_time_zone",
                )
            },
        ),
        (_("Origin"), {"fields": ("source", "signed_up_at", "created_at", "updated_at")}),
        (_("Other data"), {"classes": ("collapse",), "fields": ("external_ids", "attributes")}),
        (_("Timeline"), {"fields": ("timeline",)}),
    )
    inlines = [ConsentInline, ConsentEventInline, CartInline, OrderInline]
    actions = ["export_json", "erase"]

    def get_urls(self):
        timeline = self.admin_site.admin_view(ContactTimelineView.as_view(model_admin=self))
        return [
            path("<path:object_id>/timeline/", timeline, name="omnichannel_contact_timeline"),
            *super().get_urls(),
        ]

    @admin.display(description=_("latest activity"))
    def timeline(self, obj):
        if obj.pk is None:
            return ""
        return timeline_summary(obj, self.admin_site)

    @admin.display(description=_("time zone used for sending"))
    def effective_time_zone(self, obj):
        return str(obj.get_time_zone())

    def get_search_results(self, request, queryset, search_term):
        """Django's word search, or a phone number search, plus order numbers.

        A term that is a phone number typed with spaces or in national form ("06 12 34 56
        78") is normalised (national numbers need ``DEFAULT_PHONE_REGION``; without it, its
        digits match the end of stored numbers) instead of being split into words, which
        would match any contact holding "06", "12", ... anywhere. ``Exists`` finds orders
        without repeating contacts.
        """
        term = search_term.strip()
        phone = phone_lookup(term)
        if phone is None:
            results, may_have_duplicates = super().get_search_results(
                request, queryset, search_term
            )
        else:
            results, may_have_duplicates = queryset.filter(phone), False
        if term:
            orders = TrackedOrder.objects.filter(
                contact=OuterRef("pk"), order_key__in={term, term.lstrip("#")}
            )
            results |= queryset.filter(Exists(orders))
        return results, may_have_duplicates

    def has_export_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.export_contact")

    @admin.action(description=_("Export as JSON"), permissions=["export"])
    def export_json(self, request, queryset):
        contacts = list(queryset.exclude(uuid=ERASED_CONTACT_UUID).select_related("user"))
        response = HttpResponse(dumps(export_contacts(contacts)), content_type="application/json")
        name = (
            f"contact-{contacts[0].uuid}"
            if len(contacts) == 1
            else f"contacts-{timezone.now():%Y%m%d-%H%M%S}"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.json"'
        return response

    @admin.action(
        description=_("Erase (GDPR): delete their data, keep the figures"), permissions=["delete"]
    )
    def erase(self, request, queryset):
        """Like Django's delete: a confirmation page listing the contacts, then the erasure."""
        contacts = list(queryset.exclude(uuid=ERASED_CONTACT_UUID))
        if not contacts:
            self.message_user(request, _("Nothing to erase."), messages.WARNING)
            return None
        if request.POST.get("post") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": _("Erase contacts"),
                "opts": self.opts,
                "contacts": contacts,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "media": self.media,
            }
            return TemplateResponse(
                request, "admin/omnichannel/contact/erase_confirmation.html", context
            )
        for contact in contacts:
            erase_contact(contact, by=request.user.get_username())
        self.message_user(
            request,
            ngettext("Erased %d contact.", "Erased %d contacts.", len(contacts)) % len(contacts),
            messages.SUCCESS,
        )
        return None


def phone_lookup(term):
    """``Q`` finding contacts by ``term`` as a phone number, or None when it is not one."""
    digits = re.sub(r"\D", "", term)
    if len(digits) < 6 or re.search(r"[^\d\s().+/-]", term):
        return None
    try:
        return Q(phone=normalize_phone(term))
    except ValidationError:
        return Q(phone__endswith=digits.lstrip("0"))
