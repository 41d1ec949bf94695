"""What visitors looked at and asked about: read by staff, written by the app."""

from django.contrib import admin

from ..models import ProductAlert, ProductEvent, ProductView
from .readonly import ReadOnlyAdmin


@admin.register(ProductView)
class ProductViewAdmin(ReadOnlyAdmin):
    list_display = ("name", "contact", "price", "first_viewed_at", "last_viewed_at", "handled_at")
    list_filter = (("contact", admin.EmptyFieldListFilter), "last_viewed_at")
    search_fields = ("name", "product_id", "contact__email")
    date_hierarchy = "last_viewed_at"
    list_select_related = ("contact",)
    raw_id_fields = ("contact",)


@admin.register(ProductAlert)
class ProductAlertAdmin(ReadOnlyAdmin):
    list_display = ("product_id", "kind", "contact", "requested_at", "notified_at")
    list_filter = ("kind", ("notified_at", admin.EmptyFieldListFilter))
    search_fields = ("product_id", "contact__email")
    list_select_related = ("contact",)
    raw_id_fields = ("contact",)


@admin.register(ProductEvent)
class ProductEventAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "kind", "old_price", "new_price", "happened_at", "processed_at")
    list_filter = ("kind",)
    search_fields = ("product_id",)
    date_hierarchy = "happened_at"
