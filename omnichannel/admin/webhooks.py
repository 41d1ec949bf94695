"""Outgoing webhooks in the admin: the endpoints, and every delivery with its last answer.

Endpoints are the integrator's configuration (a URL and the secret that signs for it):
changing them takes the model's change permission, which the marketing group does not
hold. Deliveries are written by the sweeper only; staff read them and retry them.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..conf import omnichannel_settings
from ..models import WebhookDelivery, WebhookEndpoint
from ..models.webhooks import DeliveryStatus, WebhookEvent, new_secret
from ..outgoing.erasure import is_erased
from ..outgoing.queueing import queue_test_event, wake_sweeper


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The events this endpoint receives."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "events", "is_active")

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("https://", "http://")):
            raise forms.ValidationError(_("Enter an http(s) address."))
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = (
        "url", "description", "event_list", "is_active", "consecutive_failures", "disabled_at",
    )  # fmt: skip
    list_filter = ("is_active",)
    search_fields = ("url", "description")
    actions = ["send_test_event", "rotate_secret", "enable"]
    readonly_fields = (
        "uuid", "secret", "previous_secret_expires_at", "consecutive_failures", "disabled_at",
        "disabled_reason", "created_at", "updated_at",
    )  # fmt: skip
    fieldsets = (
        (None, {"fields": ("url", "description", "events", "is_active")}),
        (
            _("Signing"),
            {
                "fields": ("secret", "previous_secret_expires_at"),
                "description": _(
                    "Each POST carries Omnichannel-Signature: t=<time>,v1=<HMAC-SHA256 of "
                    '"<time>.<body>">; verify it with '
                    "omnichannel.outgoing.signing.verify_signature."
                ),
            },
        ),
        (
            _("Health"),
            {"fields": ("consecutive_failures", "disabled_at", "disabled_reason", "uuid")},
        ),
    )

    def get_fieldsets(self, request, obj=None):
        """The secret is a credential: shown to those who may change the endpoint only."""
        if self.has_change_permission(request, obj):
            return self.fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "secret"]})
            for name, options in self.fieldsets
        ]

    @admin.display(description=_("events"))
    def event_list(self, obj):
        return ", ".join(obj.events)

    def changelist_view(self, request, extra_context=None):
        disabled = WebhookEndpoint.objects.filter(is_active=False, disabled_at__isnull=False)
        for endpoint in disabled:
            self.message_user(
                request,
                format_html(
                    "{} was disabled at {}: {} Its deliveries wait until it is enabled again.",
                    endpoint.url,
                    endpoint.disabled_at.strftime("%Y-%m-%d %H:%M"),
                    endpoint.disabled_reason,
                ),
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)

    @admin.action(
        description=_("Send a test event to the selected endpoints"), permissions=["change"]
    )
    def send_test_event(self, request, queryset):
        count = queue_test_event(list(queryset))
        self.message_user(
            request,
            ngettext(
                "A test event was queued for %d endpoint; its delivery shows in the list of "
                "webhook deliveries.",
                "A test event was queued for each of %d endpoints; their deliveries show in "
                "the list of webhook deliveries.",
                count,
            )
            % count,
            messages.SUCCESS,
        )

    @admin.action(
        description=_("Rotate the signing secret (the old one keeps signing for a while)"),
        permissions=["change"],
    )
    def rotate_secret(self, request, queryset):
        hours = omnichannel_settings.WEBHOOK_SECRET_ROTATION_HOURS
        until = timezone.now() + timedelta(hours=hours)
        rotated = 0
        for endpoint in queryset:
            endpoint.previous_secret, endpoint.secret = endpoint.secret, new_secret()
            endpoint.previous_secret_expires_at = until
            endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
            rotated += 1
        self.message_user(
            request,
            ngettext(
                "%(n)d secret rotated; both secrets sign for %(hours)s hours.",
                "%(n)d secrets rotated; both secrets sign for %(hours)s hours.",
                rotated,
            )
            % {"n": rotated, "hours": hours},
            messages.SUCCESS,
        )

    @admin.action(description=_("Enable the selected endpoints again"), permissions=["change"])
    def enable(self, request, queryset):
        enabled = queryset.filter(is_active=False).update(
            is_active=True, consecutive_failures=0, disabled_at=None, disabled_reason=""
        )
        if enabled:
            transaction.on_commit(wake_sweeper)
        self.message_user(
            request,
            ngettext("%d endpoint enabled.", "%d endpoints enabled.", enabled) % enabled,
            messages.SUCCESS if enabled else messages.WARNING,
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at", "event_type", "endpoint", "status", "attempts", "last_status_code",
        "next_attempt_at", "delivered_at",
    )  # fmt: skip
    list_filter = ("status", "event_type", "endpoint")
    search_fields = ("event_id", "endpoint__url")
    list_select_related = ("endpoint",)
    date_hierarchy = "created_at"
    actions = ["retry_now"]
    fieldsets = (
        (None, {"fields": ("endpoint", "event_type", "event_id", "status", "payload")}),
        (
            _("Attempts"),
            {"fields": ("attempts", "next_attempt_at", "last_attempt_at", "delivered_at")},
        ),
        (_("Last answer"), {"fields": ("last_status_code", "last_response", "last_error")}),
    )

    def get_readonly_fields(self, request, obj=None):
        return [name for fieldset in self.fieldsets for name in fieldset[1]["fields"]]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.retry_webhookdelivery")

    @admin.action(description=_("Retry the selected deliveries now"), permissions=["retry"])
    def retry_now(self, request, queryset):
        """Due now: a waiting one keeps its attempts, a failed or cancelled one gets a fresh
        budget. Delivered, in-flight and erased deliveries are left alone and counted."""
        now = timezone.now()
        retried, skipped = [], 0
        for delivery in queryset.select_related(None).only("pk", "status", "payload"):
            sendable = delivery.status in (
                DeliveryStatus.PENDING, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED,
            )  # fmt: skip
            if sendable and not is_erased(delivery):
                retried.append(delivery)
            else:
                skipped += 1
        WebhookDelivery.objects.filter(
            pk__in=[d.pk for d in retried if d.status == DeliveryStatus.PENDING]
        ).update(next_attempt_at=now)
        WebhookDelivery.objects.filter(
            pk__in=[d.pk for d in retried if d.status != DeliveryStatus.PENDING]
        ).update(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now)
        if retried:
            transaction.on_commit(wake_sweeper)
        text = ngettext(
            "%d delivery will be retried now.", "%d deliveries will be retried now.", len(retried)
        ) % len(retried)
        if skipped:
            text += (
                " "
                + ngettext(
                    "%d skipped: delivered, being delivered, or its contact was erased.",
                    "%d skipped: delivered, being delivered, or their contact was erased.",
                    skipped,
                )
                % skipped
            )
        self.message_user(request, text, messages.SUCCESS if retried else messages.WARNING)
