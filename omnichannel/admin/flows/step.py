"""A step's page: its contents per channel and language, variants and their A/B test,
conditions, a preview and a test send."""

import json
from functools import cached_property, partial

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from ...channels import sms_segments
from ...conf import omnichannel_settings
from ...core.durations import describe_wait
from ...exceptions import SendError
from ...flows import validation
from ...flows.ab_tests import step_tests
from ...flows.preview import preview_step, sample_contact
from ...flows.variables import grouped_tags
from ...models import ChannelCost, Contact, Step, StepContent, StepVariant
from ...models.channels import Channel
from ...models.flows import StepKind
from ..ab_tests import ABTestsAdminMixin
from ..permissions import may_view_contacts
from .forms import (
    PHONE_CHANNELS,
    ContentFormSet,
    StepContentForm,
    StepForm,
    TestSendForm,
    renumber_steps,
)
from .widgets import DURATIONS_IN_WORDS


class StepVariantInline(admin.TabularInline):
    model = StepVariant
    extra = 0
    formfield_overrides = DURATIONS_IN_WORDS
    fields = ("name", "weight", "channel", "delay", "offer_value", "retired")
    verbose_name_plural = _(
        "A/B variants (each needs its own content below; empty fields follow the step)"
    )


def channel_fieldset(name, fields, *channels):
    """A fieldset shown only while the content's channel is one of ``channels``
    (step_content.js and omnichannel.css; without scripts every fieldset shows)."""
    classes = ("oc-channel", *(f"oc-for-{channel}" for channel in channels))
    return (name, {"classes": classes, "fields": fields})


class StepContentInline(admin.StackedInline):
    """One editor per channel: the content's channel decides which fields show."""

    model = StepContent
    form = StepContentForm
    formset = ContentFormSet
    extra = 0
    fieldsets = (
        (None, {"fields": (("channel", "locale", "variant"),)}),
        channel_fieldset(_("Email"), ("subject", "preheader"), Channel.EMAIL),
        channel_fieldset(_("WhatsApp template"), ("content_sid", "variables"), Channel.WHATSAPP),
        channel_fieldset(
            _("Text"), ("text", "sms_counter"), Channel.EMAIL, Channel.SMS, Channel.WHATSAPP
        ),
        channel_fieldset(_("Email blocks"), ("blocks",), Channel.EMAIL),
        channel_fieldset(_("Email HTML"), ("html",), Channel.EMAIL),
        channel_fieldset(
            _("Web push and on-site inbox"), ("title", "body", "url"), Channel.PUSH, Channel.INBOX
        ),
        channel_fieldset(None, ("icon",), Channel.PUSH),
    )
    readonly_fields = ("sms_counter",)

    class Media:
        js = ("omnichannel/admin/step_content.js",)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        variant = formset.form.base_fields["variant"]
        variant.queryset = obj.variants.all() if obj else StepVariant.objects.none()
        variant.help_text = _("Empty: the step's own content. Save new variants first.")
        if obj is not None and obj.channel in Channel.values:
            # A content added to the step starts on the channel the step sends on (on "best
            # available channel", staff pick one).
            formset.form.base_fields["channel"].initial = obj.channel
        return formset

    @cached_property
    def _sms_rates(self):
        # The inline lives for one request: the rates are read once per page.
        return [
            {"where": cost.country or str(_("any country")), "amount": str(cost.amount),
             "currency": cost.currency}
            for cost in ChannelCost.objects.filter(channel=Channel.SMS).order_by("country")
        ]  # fmt: skip

    @admin.display(description=_("SMS length"))
    def sms_counter(self, obj):
        """Where step_content.js counts the SMS's segments while staff type, with the
        alphabet of ``sms_segments`` itself, so that the two cannot disagree."""
        return format_html(
            '<p class="oc-sms-counter" aria-live="polite" data-gsm-basic="{}" '
            'data-gsm-extended="{}" data-budget="{}" data-rates="{}" data-summary="{}" '
            'data-gsm="{}" data-ucs2="{}" data-over-budget="{}" data-cost="{}"></p>'
            '<small class="oc-sms-note">{}</small>',
            # JSON: the HTML parser would turn the alphabet's CR into LF in plain text.
            json.dumps(sorted(sms_segments.GSM_BASIC)),
            json.dumps(sorted(sms_segments.GSM_EXTENDED)),
            omnichannel_settings.SMS_SEGMENT_BUDGET,
            json.dumps(self._sms_rates),
            _("Segments: %(segments)s · characters: %(characters)s · %(encoding)s"),
            _("GSM alphabet: 160 characters in one segment, 153 per segment after"),
            _("Unicode, because of “%(char)s”: 70 characters in one segment, 67 per segment after"),
            _(
                "More than %(budget)s segments (OMNICHANNEL['SMS_SEGMENT_BUDGET']): "
                "activating the flow is refused."
            ),
            _("Estimated cost per message: %(costs)s"),
            _(
                "Counted on the text as typed: variables change the length when it is sent "
                "(the step's preview counts it for a contact). €, [, ], {, }, ~, ^, | and \\ "
                "take two characters."
            ),
        )


@admin.register(Step)
class StepAdmin(ABTestsAdminMixin, admin.ModelAdmin):
    """A step's page: its contents per channel and language, variants and conditions.
    Reached from its flow's page, so it is not listed on the admin index."""

    form = StepForm
    formfield_overrides = DURATIONS_IN_WORDS
    list_display = ("__str__", "flow", "channel", "delay_in_words", "offer_kind")
    list_filter = ("flow", "channel")
    list_select_related = ("flow",)
    search_fields = ("name", "flow__name")
    inlines = [StepVariantInline, StepContentInline]
    fieldsets = (
        (
            None,
            {"fields": ("flow", ("position", "name"), "kind", ("delay", "wait_until"), "channel")},
        ),
        (_("Who gets it"), {"fields": ("conditions", "min_cart_value", "transactional")}),
        (_("Where it leads"), {"fields": ("next_step", "no_next_step")}),
        (
            _("Offer"),
            {"fields": (("offer_kind", "offer_value"), ("offer_prefix", "offer_valid_for"))},
        ),
    )

    def get_model_perms(self, request):
        return {}

    def get_inline_instances(self, request, obj=None):
        # A split or an end sends nothing: no contents or variants to edit.
        if obj is not None and obj.kind != StepKind.MESSAGE:
            return []
        return super().get_inline_instances(request, obj)

    @admin.display(description=_("delay"), ordering="delay")
    def delay_in_words(self, obj):
        return describe_wait(obj.delay, obj.wait_until)

    def get_readonly_fields(self, request, obj=None):
        return ("flow",) if obj else ()

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        renumber_steps(obj.flow, moved=obj)

    def response_post_save_change(self, request, obj):
        return HttpResponseRedirect(reverse("admin:omnichannel_flow_change", args=[obj.flow_id]))

    response_post_save_add = response_post_save_change

    def delete_view(self, request, object_id, extra_context=None):
        step = self.get_object(request, unquote(object_id))
        response = super().delete_view(request, object_id, extra_context)
        if step is not None and request.method == "POST" and response.status_code == 302:
            renumber_steps(step.flow)
            return HttpResponseRedirect(
                reverse("admin:omnichannel_flow_change", args=[step.flow_id])
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        step = self.get_object(request, unquote(object_id))
        extra = {}
        if step is not None:
            extra["step_problems"] = partial(_problems_of, step)
            extra["merge_tags"] = grouped_tags(step)
            extra.update(self.ab_test_context(request, step))
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/preview/",
                view(self.preview_view),
                name="omnichannel_step_preview",
            ),
            path(
                "<path:object_id>/send-test/",
                view(require_POST(self.send_test_view)),
                name="omnichannel_step_send_test",
            ),
            *self.ab_test_urls(),
            *super().get_urls(),
        ]

    def tests_of(self, obj):
        return step_tests([obj])

    def preview_view(self, request, object_id):
        """The step's contents rendered for a chosen contact (or a sample one)."""
        step = self.get_object(request, unquote(object_id))
        if step is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, step):
            raise PermissionDenied
        contact = self._chosen_contact(request)
        variant = self._chosen_variant(request, step)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": step,
            "title": _("Preview of “%s”") % step,
            "contact": contact,
            "chosen_contact": request.GET.get("contact", ""),
            "variant": variant,
            "variants": step.variants.all(),
            "previews": preview_step(step, contact, variant),
            "can_send": self.has_change_permission(request, step),
            "phone_channels": PHONE_CHANNELS,
        }
        return TemplateResponse(request, "admin/omnichannel/step/preview.html", context)

    def _chosen_contact(self, request):
        """The contact named by ``?contact=`` (an id or an email), else the sample. Only
        staff who may view contacts preview for a real one: the preview shows their name,
        cart and recommendations."""
        wanted = request.GET.get("contact", "").strip()
        if not wanted:
            return sample_contact()
        if not may_view_contacts(request):
            self.message_user(
                request,
                _("You may not view contacts: showing the sample contact instead."),
                messages.WARNING,
            )
            return sample_contact()
        lookup = {"pk": wanted} if wanted.isdigit() else {"email": wanted.lower()}
        contact = Contact.objects.filter(**lookup).first()
        if contact is None:
            self.message_user(
                request,
                _("No contact “%s”: showing the sample contact instead.") % wanted,
                messages.WARNING,
            )
            return sample_contact()
        return contact

    def _chosen_variant(self, request, step):
        wanted = request.GET.get("variant", "")
        if not wanted:
            return None
        variant = step.variants.filter(pk=wanted).first() if wanted.isdigit() else None
        if variant is None:
            self.message_user(
                request, _("That variant is not one of this step's."), messages.WARNING
            )
        return variant

    def send_test_view(self, request, object_id):
        """Send one content of the step to the staff member, at once and as the preview
        shows it, and say what the provider answered (``TestSendForm``: nothing is
        written, so no contact's timeline, figures or caps see the test)."""
        step = self.get_object(request, unquote(object_id))
        if step is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, step):
            raise PermissionDenied
        if request.POST.get("contact") and not may_view_contacts(request):
            raise PermissionDenied  # the test would carry that contact's cart and name
        form = TestSendForm(request.POST, step=step, user=request.user)
        back = reverse("admin:omnichannel_step_preview", args=[step.pk])
        query = {k: request.POST[k] for k in ("contact", "variant") if request.POST.get(k)}
        back += "?" + urlencode(query) if query else ""
        if not form.is_valid():
            errors = "; ".join(message for ms in form.errors.values() for message in ms)
            self.message_user(request, _("No test sent: %s") % errors, messages.ERROR)
            return HttpResponseRedirect(back)
        channel = form.cleaned_data["content"].get_channel_display()
        try:
            form.send()
        except ValidationError as exc:
            self.message_user(request, _("No test sent: %s") % exc.messages[0], messages.ERROR)
        except Exception as exc:  # the provider refused, no backend, or a backend's own bug
            reason = exc.describe() if isinstance(exc, SendError) else str(exc) or repr(exc)
            self.message_user(
                request,
                _("No test sent: the %(channel)s backend said: %(reason)s")
                % {"channel": channel, "reason": reason},
                messages.ERROR,
            )
        else:
            self.message_user(
                request,
                _("Test %(channel)s sent to %(to)s.") % {"channel": channel, "to": form.address},
                messages.SUCCESS,
            )
        return HttpResponseRedirect(back)


def _problems_of(step):
    return [
        p for p in validation.problems(step.flow) if p.step is not None and p.step.pk == step.pk
    ]
