"""The popup builder (settings, variants with a live preview, figures, A/B tests) and its
signups."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from ..flows.ab_tests import popup_tests
from ..models import Popup, PopupSignup, PopupVariant
from ..models.popups import PopupEventKind, PopupStatus, colour_validator
from ..popups.contrast import AA_RATIO, PAIRS, contrasts, low_contrast, shown
from ..popups.duplicate import duplicate_variant
from ..popups.markup import render_preview
from ..popups.stats import variant_figures
from .ab_tests import ABTestsAdminMixin

COLOUR_FIELDS = ("background_colour", "text_colour", "accent_colour")

VARIANT_FIELDSETS = (
    (None, {"fields": (("name", "locale", "weight"), "duplicate")}),
    (
        _("Content"),
        {
            "fields": (
                "headline",
                "text",
                ("image_url", "image_alt"),
                "button_label",
                "email_consent_text",
                "sms_consent_text",
                "push_button_label",
            )
        },
    ),
    (_("After subscribing"), {"fields": ("success_headline", "success_text", "confirm_text")}),
    (_("Look"), {"fields": ("position", COLOUR_FIELDS, "contrast", "low_contrast_ok")}),
)


class ColourInput(forms.TextInput):
    """The browser's colour picker; it always answers #rrggbb, as the model stores."""

    input_type = "color"


class VariantForm(forms.ModelForm):
    """A variant, with colours picked and checked for contrast before they are saved."""

    low_contrast_ok = forms.BooleanField(
        label=_("Save with this contrast anyway"),
        required=False,
        # Shown only with the contrast error (clean()): a choice made once it is explained.
        widget=forms.HiddenInput,
    )

    class Meta:
        widgets = dict.fromkeys(COLOUR_FIELDS, ColourInput)

    def clean(self):
        cleaned = super().clean()
        colours = {name: cleaned.get(name) or "" for name in COLOUR_FIELDS}
        # A malformed colour gets the model's own error (after clean()).
        valid = all(colour_validator.regex.match(colour) for colour in colours.values())
        # Warned when the colours are picked, not on every later save of the popup.
        picked = self.instance.pk is None or set(COLOUR_FIELDS) & set(self.changed_data)
        if not valid or not picked or cleaned.get("low_contrast_ok"):
            return cleaned
        if low := low_contrast(colours):
            self.fields["low_contrast_ok"].widget = forms.CheckboxInput()
            self.add_error(
                "low_contrast_ok",
                _(
                    "%(pairs)s: WCAG AA asks for at least %(aa)s so that everyone can read "
                    "it (on a phone in the sun, with weaker eyesight). Pick colours further "
                    "apart, or tick “Save with this contrast anyway”."
                )
                % {
                    "pairs": "; ".join(f"{what} {shown(ratio)}" for what, ratio in low),
                    "aa": shown(AA_RATIO),
                },
            )
        return cleaned


class VariantFormSet(forms.BaseInlineFormSet):
    """Checks that need the popup: traffic to send somewhere, a consent to tick."""

    def clean(self):
        super().clean()
        variants = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if variants and not any(data.get("weight") for data in variants):
            raise ValidationError(_("Give at least one variant a weight above 0."))
        popup = self.instance
        if not (popup.collect_email or popup.collect_phone):
            return
        for form in self.forms:
            data = form.cleaned_data
            if not data or data.get("DELETE"):
                continue
            email = popup.collect_email and data.get("email_consent_text")
            sms = popup.collect_phone and data.get("sms_consent_text")
            if not (email or sms):
                field = "email_consent_text" if popup.collect_email else "sms_consent_text"
                form.add_error(
                    field,
                    _("Write the consent wording: it is the checkbox visitors tick to subscribe."),
                )


class PopupVariantInline(admin.StackedInline):
    model = PopupVariant
    form = VariantForm
    formset = VariantFormSet
    fieldsets = VARIANT_FIELDSETS
    readonly_fields = ("duplicate", "contrast")
    extra = 0
    min_num = 1

    @admin.display(description=_("copy"))
    def duplicate(self, obj):
        if obj.pk is None:
            return _("Save the popup first to duplicate this variant.")
        return format_html(
            '<button type="submit" class="button" name="_duplicate_variant" value="{}">{}'
            '</button> <span class="help">{}</span>',
            obj.pk,
            _("Duplicate"),
            _(
                "Saves your changes, then adds a copy of this variant with weight 0: it gets "
                "no traffic until you give it a weight."
            ),
        )

    def may_duplicate(self, request, obj):
        """Duplicate saves the popup and adds a variant: both permissions."""
        return self.has_change_permission(request, obj) and self.has_add_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        if self.may_duplicate(request, obj):
            return self.fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "duplicate"]})
            for name, options in self.fieldsets
        ]

    @admin.display(description=_("contrast"))
    def contrast(self, obj):
        """Each text's contrast as the form holds it; popup_contrast.js recomputes it while
        staff pick colours, with the same formula as the form's check."""
        colours = {name: getattr(obj, name) for name in COLOUR_FIELDS}
        valid = all(colour_validator.regex.match(colour or "") for colour in colours.values())
        ok, low = (
            _("readable"),
            _("too low: WCAG AA asks for at least %(aa)s") % {"aa": shown(AA_RATIO)},
        )
        # Invalid colours (a form refused for them) leave the figures to the script.
        found = contrasts(colours) if valid else [(pair, None) for pair in PAIRS]
        items = [
            (
                foreground,
                background,
                what,
                " oc-contrast-low" if ratio is not None and ratio < AA_RATIO else "",
                ""
                if ratio is None
                else f"{what}: {shown(ratio)}, {low if ratio < AA_RATIO else ok}",
            )
            for (what, foreground, background), ratio in found
        ]
        return format_html(
            '<ul class="oc-contrast" aria-live="polite" data-aa="{}" data-ok="{}" data-low="{}">'
            "{}</ul>",
            AA_RATIO,
            ok,
            low,
            format_html_join(
                "",
                '<li data-fg="{}" data-bg="{}" data-what="{}" class="oc-contrast-pair{}">{}</li>',
                items,
            ),
        )


@admin.register(Popup)
class PopupAdmin(ABTestsAdminMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "status",
        "priority",
        "starts_at",
        "ends_at",
        "impressions",
        "submissions",
        "conversion_rate",
    )
    list_filter = ("status",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [PopupVariantInline]
    readonly_fields = ("figures",)
    actions = ["activate", "pause"]
    save_on_top = True
    fieldsets = (
        (None, {"fields": ("name", "slug", "status", "priority", ("starts_at", "ends_at"))}),
        (_("Figures"), {"fields": ("figures",)}),
        (
            _("What it asks for"),
            {"fields": ("collect_email", "collect_phone", "offer_push", "extra_fields")},
        ),
        (
            _("Gift and double opt-in"),
            {
                "fields": (
                    "gift",
                    ("discount_value", "code_valid_days", "code_prefix"),
                    "double_opt_in",
                )
            },
        ),
        (
            _("When it shows (any of these)"),
            {
                "fields": (
                    "on_exit_intent",
                    ("on_scroll_up", "on_tab_return", "on_back_button"),
                    ("inactivity_seconds", "delay_seconds", "scroll_percent"),
                    "click_selector",
                    ("min_seconds_on_page", "min_page_views"),
                )
            },
        ),
        (
            _("Who sees it"),
            {
                "fields": (
                    ("url_include", "url_exclude"),
                    ("device", "visitors"),
                    ("hide_from_customers", "hide_from_subscribers"),
                    ("min_cart_value", "max_cart_value", "cart_contains"),
                    ("referrer_contains", "utm"),
                    "countries",
                )
            },
        ),
        (_("How often"), {"fields": ("hide_days_after_close",)}),
    )

    class Media:
        js = ("omnichannel/admin/popup_preview.js", "omnichannel/admin/popup_contrast.js")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                impression_count=Count("events", filter=Q(events__kind=PopupEventKind.IMPRESSION)),
                submission_count=Count("events", filter=Q(events__kind=PopupEventKind.SUBMIT)),
            )
        )

    @admin.display(description=_("shown"), ordering="impression_count")
    def impressions(self, obj):
        return obj.impression_count

    @admin.display(description=_("subscribed"), ordering="submission_count")
    def submissions(self, obj):
        return obj.submission_count

    @admin.display(description=_("conversion"))
    def conversion_rate(self, obj):
        if not obj.impression_count:
            return "–"
        return f"{obj.submission_count / obj.impression_count:.1%}"

    @admin.display(description=_("per variant"))
    def figures(self, obj):
        if obj is None or obj.pk is None:
            return _("(after the first save)")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "</tr>",
            (
                (
                    figure.variant,
                    figure.impressions,
                    figure.closes,
                    figure.submissions,
                    "–" if figure.conversion_rate is None else f"{figure.conversion_rate:.1%}",
                    figure.orders,
                    f"{figure.revenue:.2f}",
                )
                for figure in variant_figures(obj)
            ),
        )
        headers = format_html_join(
            "",
            "<th>{}</th>",
            (
                (label,)
                for label in (
                    _("Variant"),
                    _("Shown"),
                    _("Closed"),
                    _("Subscribed"),
                    _("Conversion"),
                    _("Orders"),
                    _("Revenue"),
                )
            ),
        )
        return format_html(
            "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", headers, rows
        )

    @admin.action(description=_("Activate the selected popups"), permissions=["change"])
    def activate(self, request, queryset):
        self._set_status(request, queryset, PopupStatus.ACTIVE)

    @admin.action(description=_("Pause the selected popups"), permissions=["change"])
    def pause(self, request, queryset):
        self._set_status(request, queryset, PopupStatus.PAUSED)

    def _set_status(self, request, queryset, status):
        # Saved one by one so each save clears the popup cache like an edit does.
        changed = 0
        for popup in queryset.exclude(status=status):
            popup.status = status
            popup.save(update_fields=["status", "updated_at"])
            changed += 1
        label = PopupStatus(status).label.lower()
        self.message_user(
            request,
            ngettext("%(n)d popup is now %(s)s.", "%(n)d popups are now %(s)s.", changed)
            % {"n": changed, "s": label},
            messages.SUCCESS,
        )

    def tests_of(self, obj):
        return popup_tests([obj])

    def change_view(self, request, object_id, form_url="", extra_context=None):
        popup = self.get_object(request, unquote(object_id))
        extra = self.ab_test_context(request, popup) if popup is not None else {}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def response_change(self, request, obj):
        """After "Duplicate" on a variant: the popup is saved, the copy added, and staff
        stay on the page to edit it."""
        wanted = request.POST.get("_duplicate_variant", "")
        if not wanted:
            return super().response_change(request, obj)
        variant = obj.variants.filter(pk=wanted).first() if wanted.isdigit() else None
        if not PopupVariantInline(self.model, self.admin_site).may_duplicate(request, obj):
            self.message_user(
                request,
                _("The popup is saved; duplicating a variant needs the permission to add one."),
                messages.WARNING,
            )
        elif variant is None:
            self.message_user(
                request,
                _("The popup is saved, but that variant is no longer one of its own."),
                messages.WARNING,
            )
        else:
            copy = duplicate_variant(variant)
            self.message_user(
                request,
                gettext(
                    "The popup is saved and “%(name)s” duplicated as “%(copy)s”, with weight "
                    "0: give it a weight to send it traffic."
                )
                % {"name": variant.name, "copy": copy.name},
                messages.SUCCESS,
            )
        return HttpResponseRedirect(request.path)

    def get_urls(self):
        preview = self.admin_site.admin_view(require_POST(self.preview_view))
        return [
            path("preview/", preview, name="omnichannel_popup_preview"),
            *self.ab_test_urls(),
            *super().get_urls(),
        ]

    def preview_view(self, request):
        """The popup as the change form describes it right now, saved or not.

        Invalid fields simply keep their defaults: staff see the preview while typing.
        """
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        form = self.get_form(request)(request.POST)
        form.is_valid()  # fills form.instance from every valid field
        popup = form.instance
        index = request.POST.get("_preview_variant", "0")
        variant_form = forms.modelform_factory(PopupVariant, exclude=("popup",))(
            request.POST, prefix=f"variants-{index if index.isdigit() else 0}"
        )
        variant_form.is_valid()
        variant = variant_form.instance
        variant.popup = popup
        response = HttpResponse(render_preview(popup, variant))
        response["X-Frame-Options"] = "SAMEORIGIN"
        return response


@admin.register(PopupSignup)
class PopupSignupAdmin(admin.ModelAdmin):
    """Who subscribed through which popup, with their code. Written by the app only."""

    list_display = (
        "contact",
        "popup",
        "variant",
        "double_opt_in",
        "discount_code",
        "created_at",
        "completed_at",
    )
    list_filter = ("popup", "double_opt_in", ("completed_at", admin.EmptyFieldListFilter))
    search_fields = ("contact__email", "contact__phone", "discount_code")
    date_hierarchy = "created_at"
    list_select_related = ("contact", "popup", "variant")
    readonly_fields = [f.name for f in PopupSignup._meta.fields if f.editable] + [
        "uuid",
        "created_at",
    ]
    exclude = ("consent_tokens",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
