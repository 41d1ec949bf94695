from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """An admin for rows staff only read: nothing to add, change or delete, so the pages
    show no buttons for it (the ledger that proves consent, the recovery dashboard)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
