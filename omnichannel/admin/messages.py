from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..message_status import REQUEUEABLE
from ..models import ChannelCost, DeliveryEvent, InboundMessage, Message, PushSubscription
from ..models.messages import DeliveryEventKind, MessageStatus

# What staff may send again: the message never reached anyone.


class DeliveryEventInline(admin.TabularInline):
    model = DeliveryEvent
    extra = 0
    can_delete = False
    fields = ("occurred_at", "kind", "detail", "provider_event_id")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """The message log: what was sent to whom, when, and what happened to it."""

    list_display = (
        "created_at", "contact", "channel", "purpose", "status", "source", "scheduled_at",
        "sent_at", "attempts", "cost",
    )  # fmt: skip
    list_filter = ("channel", "status", "purpose", "source", "provider")
    search_fields = (
        "contact__email", "contact__phone", "uuid", "idempotency_key", "provider_message_id",
    )  # fmt: skip
    date_hierarchy = "created_at"
    list_select_related = ("contact",)
    raw_id_fields = ("contact",)
    inlines = [DeliveryEventInline]
    actions = ["requeue"]
    fieldsets = (
        (None, {"fields": ("uuid", "contact", "channel", "purpose", "source", "status")}),
        (
            _("Timing"),
            {"fields": ("scheduled_at", "expires_at", "sent_at", "delivered_at", "read_at")},
        ),
        (_("Content"), {"fields": ("rendered_content", "to")}),
        (
            _("Provider"),
            {
                "fields": (
                    "provider",
                    "provider_message_id",
                    "attempts",
                    "last_error",
                    "segments",
                    "cost",
                    "cost_currency",
                )  # fmt: skip
            },
        ),
        (
            _("Internals"),
            {
                "classes": ("collapse",),
                "fields": ("idempotency_key", "priority", "content", "context", "handed_at"),
            },
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Message._meta.fields] + ["rendered_content"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("rendered content"))
    def rendered_content(self, obj):
        parts = obj.rendered or {}
        if not parts:
            return _("(not rendered yet)")
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td></tr>",
            ((name, preview(name, value)) for name, value in parts.items()),
        )
        return format_html("<table>{}</table>", rows)

    @admin.action(description=_("Requeue the selected failed, expired or cancelled messages"))
    def requeue(self, request, queryset):
        now = timezone.now()
        with transaction.atomic():
            chosen = list(queryset.select_for_update().values_list("pk", "status"))
            ids = [pk for pk, status in chosen if status in REQUEUEABLE]
            Message.objects.filter(pk__in=ids).update(
                status=MessageStatus.QUEUED, scheduled_at=now, attempts=0, handed_at=None,
                last_error="", expires_at=None, updated_at=now,
            )  # fmt: skip
            who = request.user.get_username()
            DeliveryEvent.objects.bulk_create(
                DeliveryEvent(
                    message_id=pk,
                    kind=DeliveryEventKind.QUEUED,
                    detail=f"requeued by {who}",
                    occurred_at=now,
                )  # fmt: skip
                for pk in ids
            )
        skipped = len(chosen) - len(ids)
        text = ngettext("%d message requeued.", "%d messages requeued.", len(ids)) % len(ids)
        if skipped:
            text += (
                " "
                + ngettext(
                    "%d skipped: only failed, expired or cancelled messages can be requeued.",
                    "%d skipped: only failed, expired or cancelled messages can be requeued.",
                    skipped,
                )
                % skipped
            )
        self.message_user(request, text, messages.SUCCESS if ids else messages.WARNING)


def preview(name, value):
    """HTML bodies in a sandboxed frame (no scripts, no requests to the page); rest as text."""
    if name == "html" and isinstance(value, str):
        return format_html(
            '<iframe sandbox srcdoc="{}" style="width:100%;height:24rem;border:1px solid #ccc">'
            "</iframe>",
            value,
        )
    return format_html('<pre style="white-space:pre-wrap">{}</pre>', value)


@admin.register(ChannelCost)
class ChannelCostAdmin(admin.ModelAdmin):
    list_display = ("channel", "country", "amount", "currency")
    list_editable = ("amount", "currency")
    list_filter = ("channel",)


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("contact", "endpoint_host", "user_agent", "created_at", "last_seen_at")
    search_fields = ("contact__email", "endpoint")
    raw_id_fields = ("contact",)
    readonly_fields = ("endpoint", "p256dh", "auth", "user_agent", "created_at", "last_seen_at")

    @admin.display(description=_("push service"))
    def endpoint_host(self, obj):
        return obj.endpoint.split("/")[2] if "//" in obj.endpoint else obj.endpoint[:40]


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ("received_at", "channel", "from_address", "contact", "keyword", "body")
    list_filter = ("channel", "keyword")
    search_fields = ("from_address", "body", "contact__email")
    date_hierarchy = "received_at"
    readonly_fields = [f.name for f in InboundMessage._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
