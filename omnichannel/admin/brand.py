"""The email brand: one page (there is one brand), reached from the index."""

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..models import Brand


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    fieldsets = (
        (_("Logo"), {"fields": ("logo", "logo_url", "logo_width")}),
        (
            _("Colours and font"),
            {"fields": (("primary_color", "text_color", "background_color"), "font")},
        ),
        (_("Footer"), {"fields": ("footer_address",)}),
    )

    def changelist_view(self, request, extra_context=None):
        # A list of one row says nothing: straight to the brand itself.
        brand = Brand.objects.filter(pk=1).first()
        if brand is None and self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:omnichannel_brand_add"))
        if brand is None:
            return super().changelist_view(request, extra_context)
        return HttpResponseRedirect(reverse("admin:omnichannel_brand_change", args=[brand.pk]))

    def add_view(self, request, form_url="", extra_context=None):
        # There is one brand: "Add" edits it once it exists. (Asking in has_add_permission
        # would cost a query on every admin page that lists the apps.)
        if Brand.objects.filter(pk=1).exists():
            return HttpResponseRedirect(reverse("admin:omnichannel_brand_change", args=[1]))
        return super().add_view(request, form_url, extra_context)

    def has_delete_permission(self, request, obj=None):
        return False  # without a row, the defaults apply: nothing to delete

    def response_post_save_add(self, request, obj):
        return HttpResponseRedirect(reverse("admin:omnichannel_brand_change", args=[obj.pk]))

    response_post_save_change = response_post_save_add
