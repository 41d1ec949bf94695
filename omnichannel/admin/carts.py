from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ..models import CartSnapshot
from .display import cart_lines_table


@admin.register(CartSnapshot)
class CartSnapshotAdmin(admin.ModelAdmin):
    """Tracked carts. Written by the shop bridge only, so staff read them; the list links
    to the cart recovery dashboard (``omnichannel.admin.recovery``) for those who may see it."""

    change_list_template = "admin/omnichannel/recovery/cartsnapshot_change_list.html"

    list_display = (
        "cart_key",
        "contact",
        "status",
        "item_count",
        "value",
        "currency",
        "last_activity_at",
    )
    list_filter = ("status", "currency", "last_activity_at")
    search_fields = ("cart_key", "uuid", "contact__email", "contact__phone")
    date_hierarchy = "last_activity_at"
    list_select_related = ("contact",)
    exclude = ("lines",)
    readonly_fields = [f.name for f in CartSnapshot._meta.fields if f.name != "lines"] + [
        "cart_lines"
    ]

    @admin.display(description=_("lines"))
    def cart_lines(self, obj):
        return cart_lines_table(obj.lines, obj.currency)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
