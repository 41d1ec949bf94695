from collections import Counter

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import transaction
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, ngettext_lazy

from ..models import ChannelCost, DeliveryEvent, InboundMessage, Message, PushSubscription
from ..models.messages import DeliveryEventKind, MessageStatus
from ..outbox.dispatch import UNCERTAIN_REASON
from ..outbox.status import REQUEUEABLE


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
    """The message log: what was sent to whom, when, and what happened to it.

    A record, not a form: the dispatcher and the providers write every field, so each
    message opens as a read-only page without Save buttons, and once it is being sent it
    cannot be deleted either (it is what the customer received, or may have, and what the
    timeline, the figures and the send key rest on). Staff act on messages through
    *Requeue*.
    """

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

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status != MessageStatus.QUEUED:
            return False
        return super().has_delete_permission(request, obj)

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

    def has_requeue_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.requeue_message")

    @admin.action(
        description=_("Requeue the selected failed or cancelled messages"),
        permissions=["requeue"],
    )
    def requeue(self, request, queryset):
        """Send the selected messages again, with a fresh retry budget and their expiry
        unchanged. A message whose outcome is unknown may have reached its recipient:
        requeueing it asks first, on a page that says to check the provider's log."""
        now = timezone.now()
        chosen = list(queryset.select_related("contact").order_by("pk"))
        decision = request.POST.get("outcome_unknown")  # "requeue", "skip", or not asked yet
        unknown = [m for m in chosen if not requeue_refusal(m, now) and outcome_unknown(m)]
        if unknown and decision not in ("requeue", "skip"):
            context = {
                **self.admin_site.each_context(request),
                "title": _("Requeue messages whose outcome is unknown"),
                "opts": self.opts,
                "chosen": chosen,
                "unknown": unknown,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "media": self.media,
            }
            return TemplateResponse(
                request, "admin/omnichannel/message/requeue_confirmation.html", context
            )
        requeued, skipped = requeue_messages(
            [m.pk for m in chosen], request.user, now, confirmed_unknown=decision == "requeue"
        )
        text = ngettext("%d message requeued.", "%d messages requeued.", requeued) % requeued
        for reason, skip in SKIPPED.items():
            if skipped[reason]:
                text += " " + skip % {"n": skipped[reason]}
        self.message_user(request, text, messages.SUCCESS if requeued else messages.WARNING)
        return None


# Why a selected message is not requeued, as counted feedback, in this order.
SKIPPED = {
    "not_failed": ngettext_lazy(
        "%(n)d skipped: only failed or cancelled messages can be requeued.",
        "%(n)d skipped: only failed or cancelled messages can be requeued.",
        "n",
    ),
    "expired": ngettext_lazy(
        "%(n)d skipped: expired (it would arrive out of context; queue a new message instead).",
        "%(n)d skipped: expired (they would arrive out of context; queue new messages instead).",
        "n",
    ),
    "outcome_unknown": ngettext_lazy(
        "%(n)d skipped: outcome unknown, check the provider's log first.",
        "%(n)d skipped: outcome unknown, check the provider's log first.",
        "n",
    ),
}


def outcome_unknown(message):
    """Whether the dispatcher failed ``message`` without knowing if the provider got it."""
    return message.status == MessageStatus.FAILED and message.last_error.startswith(
        UNCERTAIN_REASON
    )


def requeue_refusal(message, now):
    """Why ``message`` cannot be requeued ("not_failed", "expired"), or ''. Past its
    expiry a message is never sent: requeueing does not push the expiry back."""
    if message.status not in (*REQUEUEABLE, MessageStatus.EXPIRED):
        return "not_failed"
    if message.status == MessageStatus.EXPIRED or (
        message.expires_at is not None and message.expires_at <= now
    ):
        return "expired"
    return ""


def requeue_messages(ids, user, now, *, confirmed_unknown=False):
    """Queue the messages ``ids`` again for ``user``; ``(requeued, {reason: skipped})``.

    Each one gets a fresh retry budget, and keeps the record of what happened before: a
    "queued" delivery event naming the user, the status, attempts and error it had, and
    an entry in the admin log.
    """
    skipped = Counter()
    with transaction.atomic():
        locked = list(Message.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        requeueing = []
        for message in locked:
            reason = requeue_refusal(message, now)
            if not reason and outcome_unknown(message) and not confirmed_unknown:
                reason = "outcome_unknown"
            if reason:
                skipped[reason] += 1
            else:
                requeueing.append(message)
        Message.objects.filter(pk__in=[m.pk for m in requeueing]).update(
            status=MessageStatus.QUEUED, scheduled_at=now, attempts=0, handed_at=None,
            locked_until=None, locked_by="", last_error="", updated_at=now,
        )  # fmt: skip
        who = user.get_username()
        DeliveryEvent.objects.bulk_create(
            DeliveryEvent(
                message=message,
                kind=DeliveryEventKind.QUEUED,
                detail=_requeue_note(message, who),
                raw={
                    "requeued_by": who,
                    "user_id": user.pk,
                    "previous_status": message.status,
                    "previous_attempts": message.attempts,
                    "previous_error": message.last_error,
                    "outcome_unknown": outcome_unknown(message),
                },
                occurred_at=now,
            )
            for message in requeueing
        )
        for unknown in (False, True):
            logged = [m for m in requeueing if outcome_unknown(m) == unknown]
            if logged:
                LogEntry.objects.log_actions(
                    user_id=user.pk,
                    queryset=logged,
                    action_flag=CHANGE,
                    change_message=REQUEUE_LOG[unknown],
                )
    return len(requeueing), skipped


# The admin log's words for a requeue (stored untranslated, like Django's own).
REQUEUE_LOG = {
    False: "Requeued.",
    True: "Requeued although its outcome was unknown, after confirming the provider's log "
    "was checked.",
}


def _requeue_note(message, who):
    note = f"requeued by {who} (was {message.status} after {message.attempts} attempts"
    return note + (f": {message.last_error})" if message.last_error else ")")


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
