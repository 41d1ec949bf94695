from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..models import Consent, ConsentEvent, Suppression
from .readonly import ReadOnlyAdmin


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    """Current decisions. Read-only: a consent is given by the person, not by staff."""

    list_display = ("contact", "channel", "purpose", "status", "source", "updated_at")
    list_filter = ("channel", "purpose", "status", "source")
    search_fields = ("contact__email", "contact__phone")
    list_select_related = ("contact",)
    readonly_fields = [f.name for f in Consent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    """The ledger that proves consent: append-only, so nothing here can be edited."""

    list_display = ("created_at", "contact", "channel", "purpose", "status", "source", "ip_address")
    list_filter = ("channel", "purpose", "status", "source")
    search_fields = ("contact__email", "contact__phone", "uuid")
    date_hierarchy = "created_at"
    list_select_related = ("contact",)
    readonly_fields = [f.name for f in ConsentEvent._meta.fields]


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("address", "channel", "reason", "contact", "created_at")
    list_filter = ("channel", "reason")
    search_fields = ("address", "contact__email", "contact__phone")
    date_hierarchy = "created_at"
    raw_id_fields = ("contact",)
    actions = ["lift"]

    def get_changeform_initial_data(self, request):
        return {"reason": "manual"}

    @admin.action(description=_("Lift the selected suppressions"), permissions=["delete"])
    def lift(self, request, queryset):
        """Lifting deletes the suppressions: the admin log keeps who lifted which."""
        self.log_deletions(request, queryset)
        count, _deleted = queryset.delete()
        self.message_user(
            request,
            ngettext("%d suppression lifted.", "%d suppressions lifted.", count) % count,
            messages.SUCCESS,
        )
