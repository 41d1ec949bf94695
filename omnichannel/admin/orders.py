from django.contrib import admin

from ..models import TrackedOrder


@admin.register(TrackedOrder)
class TrackedOrderAdmin(admin.ModelAdmin):
    list_display = (
        "order_key",
        "contact",
        "status",
        "is_purchase",
        "total",
        "currency",
        "placed_at",
        "attributed_by",
        "attributed_flow",
        "attributed_channel",
    )
    # The credit every report counts (omnichannel.carts.attribution): support can see
    # which message and popup an order went to, and which orders went to none.
    list_filter = ("is_purchase", "attributed_by", "attributed_channel", "status", "currency")
    search_fields = ("order_key", "contact__email", "contact__phone")
    date_hierarchy = "placed_at"
    list_select_related = ("contact", "attributed_flow")
    readonly_fields = [f.name for f in TrackedOrder._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
