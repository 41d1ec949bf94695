from django.contrib import admin
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from ..models import CartSnapshot, Consent, ConsentEvent, Contact, TrackedOrder
from ..timeline import contact_timeline


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

    @admin.display(description=_("latest activity"))
    def timeline(self, obj):
        if obj.pk is None:
            return ""
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((date_format(e.at, "DATETIME_FORMAT"), e.kind, e.text) for e in contact_timeline(obj)),
        )
        return format_html("<table>{}</table>", rows) if rows else _("Nothing yet.")

    @admin.display(description=_("time zone used for sending"))
    def effective_time_zone(self, obj):
        return str(obj.get_time_zone())
