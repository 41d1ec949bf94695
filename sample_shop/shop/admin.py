from django.contrib import admin, messages
from django.utils.translation import ngettext

from omnichannel.integrations import notify_back_in_stock, notify_price_drop, track_order

from .models import DiscountCode, Order, OrderLine, OrderStatus, Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "sku", "price", "is_active")
    list_filter = ("is_active",)
    list_editable = ("is_active",)
    search_fields = ("name", "sku", "description")
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request, obj, form, change):
        """A product for sale again, or cheaper: news for those who asked or looked."""
        before = Product.objects.filter(pk=obj.pk).values("is_active", "price").first()
        super().save_model(request, obj, form, change)
        if before is None:
            return
        if obj.is_active and not before["is_active"]:
            notify_back_in_stock(obj)
        if obj.is_active and obj.price < before["price"]:
            notify_price_drop(obj, before["price"], obj.price)


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ("product", "name", "unit_price", "quantity")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("short_id", "created_at", "name", "email", "status", "total", "currency")
    list_filter = ("status", "created_at")
    search_fields = ("uuid", "email", "name", "phone")
    date_hierarchy = "created_at"
    readonly_fields = ("uuid", "cart_key", "discount_code", "discount_amount", "total")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    inlines = [OrderLineInline]
    actions = ["mark_paid"]

    @admin.display(description="Order", ordering="uuid")
    def short_id(self, order):
        return order.short_id

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "status" in form.changed_data:
            track_order(obj)

    @admin.action(description="Mark selected bank-transfer orders paid", permissions=["change"])
    def mark_paid(self, request, queryset):
        pending = list(queryset.filter(status=OrderStatus.PENDING_PAYMENT))
        for order in pending:
            order.status = OrderStatus.PAID
            order.save(update_fields=["status"])
            # The order now counts as a purchase for omnichannel: its cart is converted.
            track_order(order)
        skipped = queryset.count() - len(pending)
        if pending:
            self.message_user(
                request,
                ngettext("%d order was marked paid.", "%d orders were marked paid.", len(pending))
                % len(pending),
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%d order was not awaiting a bank transfer and was left as it was.",
                    "%d orders were not awaiting a bank transfer and were left as they were.",
                    skipped,
                )
                % skipped,
                messages.WARNING,
            )


@admin.register(DiscountCode)
class DiscountCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "kind", "value", "email", "expires_at", "used_at")
    list_filter = ("kind", ("used_at", admin.EmptyFieldListFilter))
    search_fields = ("code", "email")
    date_hierarchy = "created_at"
