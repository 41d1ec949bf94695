"""The flow builder: flows with their steps, step contents and variants, previews, test
sends, a dry run, what is wrong with a flow, and what it led to.

Django admin has no nested inlines, so a flow's page lists its steps (order, timing,
channel, offer) and each step has its own page for contents, variants and conditions.
Status changes go through actions (list or buttons on the flow's page), never through a
form field: activation must pass the flow's validation and stamp ``activated_at``.
"""

import datetime as dt
import uuid
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, ngettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from ...contacts.identity import resolve_contact
from ...core.normalize import normalize_phone
from ...flows import conditions, validation
from ...flows.analytics import flow_figures
from ...flows.engine import exit_enrollments
from ...flows.preview import (
    dry_run,
    dry_run_enrolled,
    preview_content,
    preview_step,
    sample_contact,
    template_context,
)
from ...models import Contact, Enrollment, Flow, Step, StepContent, StepVariant
from ...models.channels import Channel
from ...models.consent import Purpose
from ...models.flows import EnrollmentState, ExitGoal, FlowStatus, Trigger
from ...outbox.queueing import enqueue

# --- conditions: a select of registered conditions, each with its own parameter fields --


class ConditionsWidget(forms.Widget):
    """One row per condition: which one, and its parameters (the registered form fields).

    Every condition's parameters are in every row; a small script shows those of the
    chosen condition. Two empty rows let staff add conditions; "no condition" removes one.
    Stored values that make no sense (an unregistered condition, odd parameters) are shown
    as they are, for ``conditions.validate()`` to explain on save.
    """

    template_name = "admin/omnichannel/flow/conditions_widget.html"
    blank_rows = 2

    class Media:
        js = ("omnichannel/admin/flow_conditions.js",)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        entries = [e for e in (value if isinstance(value, list) else []) if isinstance(e, dict)]
        known = conditions.choices()
        rows = []
        for index, entry in enumerate(entries + [{}] * self.blank_rows):
            chosen = str(entry.get("name") or "")
            choices = known if chosen in dict(known) or not chosen else [*known, (chosen, chosen)]
            values = entry.get("params")
            rows.append(
                {
                    "prefix": f"{name}-{index}",
                    "chosen": chosen,
                    "choices": choices,
                    "params": self._params(
                        f"{name}-{index}", chosen, values if isinstance(values, dict) else {}
                    ),
                }
            )
        context["widget"]["rows"] = rows
        return context

    def _params(self, prefix, chosen, values):
        params = []
        for condition_name, _label in conditions.choices():
            condition = conditions.get(condition_name)
            for param, field in condition.params.items():
                value = values.get(param) if condition_name == chosen else None
                if isinstance(value, list):
                    value = ", ".join(map(str, value))
                field_name = f"{prefix}-{condition_name}-{param}"
                params.append(
                    {
                        "condition": condition_name,
                        "id": f"id_{field_name}",
                        "label": field.label or param,
                        "html": field.widget.render(
                            field_name, value, attrs={"id": f"id_{field_name}"}
                        ),
                    }
                )
        return params

    def value_from_datadict(self, data, files, name):
        try:
            count = int(data.get(f"{name}-rows", 0))
        except ValueError:
            count = 0
        entries = []
        for index in range(min(count, 50)):
            prefix = f"{name}-{index}"
            chosen = data.get(f"{prefix}-name")
            if not chosen:
                continue
            try:
                params = conditions.get(chosen).params
            except KeyError:
                params = {}  # conditions.validate() names the unknown condition
            entries.append(
                {
                    "name": chosen,
                    "params": {
                        param: field.widget.value_from_datadict(
                            data, files, f"{prefix}-{chosen}-{param}"
                        )
                        for param, field in params.items()
                    },
                }
            )
        return entries

    def value_omitted_from_data(self, data, files, name):
        return f"{name}-rows" not in data


class ConditionsField(forms.Field):
    """Conditions as stored, cleaned by ``conditions.validate()`` (one message per
    problem, naming the condition and the parameter to fix)."""

    widget = ConditionsWidget

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, value):
        return conditions.validate(value or [])


# --- flows -------------------------------------------------------------------------------


class FlowForm(forms.ModelForm):
    conditions = ConditionsField(
        label=_("Entry conditions"),
        help_text=_("A contact enters only when they meet all of these. None: everyone."),
    )
    exit_goals = forms.MultipleChoiceField(
        label=_("Exit goals"),
        choices=ExitGoal.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Reaching any of these ends the flow for the contact."),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("trigger") == Trigger.CUSTOM_EVENT and not cleaned.get("trigger_event"):
            self.add_error(
                "trigger_event",
                _("Name the event that starts this flow, as track_event() gets it."),
            )
        return cleaned


class OneBasedPositionForm(forms.ModelForm):
    """Staff number steps 1, 2, 3; stored positions start at 0. An empty number puts a new
    step last. Positions are made contiguous after every save (``renumber_steps``)."""

    position = forms.IntegerField(
        label=_("Order"),
        min_value=1,
        required=False,
        widget=forms.NumberInput(attrs={"style": "width:4em"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["position"] = self.instance.position + 1

    def clean_position(self):
        position = self.cleaned_data.get("position")
        return position - 1 if position else 10_000


def renumber_steps(flow, moved=None):
    """Positions 0, 1, 2... in the order staff gave. On a tie the ``moved`` step goes
    first (it was given the place of another), then the oldest."""
    steps = sorted(
        Step.objects.filter(flow=flow),
        key=lambda step: (step.position, step.pk != getattr(moved, "pk", None), step.pk),
    )
    changed = []
    for index, step in enumerate(steps):
        if step.position != index:
            step.position = index
            changed.append(step)
    Step.objects.bulk_update(changed, ["position"])


class StepInlineForm(OneBasedPositionForm):
    class Meta:
        widgets = {
            "name": forms.TextInput(attrs={"size": 24}),
            "delay": forms.TextInput(attrs={"size": 12}),
            "offer_value": forms.NumberInput(attrs={"style": "width:6em"}),
        }


class StepInline(admin.TabularInline):
    model = Step
    form = StepInlineForm
    fields = (
        "position",
        "name",
        "delay",
        "channel",
        "offer_kind",
        "offer_value",
        "content_summary",
    )
    readonly_fields = ("content_summary",)
    extra = 0
    show_change_link = True
    verbose_name_plural = _("steps (open a step for its content, variants and conditions)")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("contents")

    @admin.display(description=_("content"))
    def content_summary(self, obj):
        if obj.pk is None:
            return _("(after saving)")
        labels = sorted({content.get_channel_display() for content in obj.contents.all()})
        return format_html(
            '{} · <a href="{}">{}</a>',
            ", ".join(labels) or _("none yet"),
            reverse("admin:omnichannel_step_preview", args=[obj.pk]),
            _("Preview"),
        )


class FiguresPeriodForm(forms.Form):
    """The period of the figures on a flow's page: enrollments triggered in it."""

    since = forms.DateField(
        label=_("Triggered from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=pgettext_lazy("end of a period", "to"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise ValidationError(_("The period ends before it starts: swap the dates."))
        return cleaned

    def bounds(self):
        """``(start, end)`` aware datetimes, the end exclusive; open sides are None."""
        if not self.is_bound or not self.is_valid():
            return None, None
        since, until = self.cleaned_data["since"], self.cleaned_data["until"]
        start = _midnight(since) if since else None
        end = _midnight(until + dt.timedelta(days=1)) if until else None
        return start, end


def _midnight(day):
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


# Enrollments that went through the flow (the holdout did not).
_TREATED = (EnrollmentState.ACTIVE, EnrollmentState.COMPLETED, EnrollmentState.EXITED)


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    """The flow builder: what starts it, who enters, its steps, and how it performs."""

    form = FlowForm
    list_display = (
        "name", "kind", "trigger", "status", "priority", "step_count", "enrolled_count",
        "active_count", "activated_at",
    )  # fmt: skip
    list_filter = ("status", "kind", "trigger")
    search_fields = ("name", "slug", "trigger_event")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("status", "activated_at")
    inlines = [StepInline]
    actions = ["activate", "pause", "resume", "archive", "duplicate"]
    save_on_top = True
    fieldsets = (
        (None, {"fields": ("name", "slug", "kind", ("status", "activated_at"), "priority")}),
        (_("What starts it"), {"fields": ("trigger", "trigger_event")}),
        (_("Who enters"), {"fields": ("conditions", "reentry_cooldown")}),
        (_("When it ends early"), {"fields": ("exit_goals",)}),
        (_("Measuring"), {"fields": ("holdout_percent", "attribution_window")}),
    )
    # The buttons on a flow's page, by status: (action, label). Copying is always offered.
    OBJECT_ACTIONS = {
        FlowStatus.DRAFT: [("activate", _("Activate"))],
        FlowStatus.ACTIVE: [("pause", _("Pause")), ("archive", _("Archive"))],
        FlowStatus.PAUSED: [("resume", _("Resume")), ("archive", _("Archive"))],
        FlowStatus.ARCHIVED: [("activate", _("Activate again"))],
    }
    COPY_BUTTON = ("duplicate", _("Copy as a draft"))

    def get_queryset(self, request):
        def enrollments(**lookups):
            counted = (
                Enrollment.objects.filter(flow=OuterRef("pk"), **lookups)
                .order_by()
                .values("flow")
                .annotate(n=Count("pk"))
                .values("n")
            )
            return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))

        return (
            super()
            .get_queryset(request)
            .annotate(
                steps_n=Count("steps"),
                enrolled_n=enrollments(state__in=_TREATED),
                active_n=enrollments(state=EnrollmentState.ACTIVE),
            )
        )

    @admin.display(description=_("steps"), ordering="steps_n")
    def step_count(self, obj):
        return obj.steps_n

    @admin.display(description=_("enrolled"), ordering="enrolled_n")
    def enrolled_count(self, obj):
        return obj.enrolled_n

    @admin.display(description=_("in the flow now"), ordering="active_n")
    def active_count(self, obj):
        return obj.active_n

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is not Step:
            return
        renumber_steps(form.instance)
        waiting = form.instance.enrollments.filter(state=EnrollmentState.ACTIVE).count()
        if formset.has_changed() and waiting:
            # Enrollments hold the number of their next step, not the step itself.
            self.message_user(
                request,
                ngettext(
                    "%d contact is in this flow: they go on with the step now at their "
                    "next position.",
                    "%d contacts are in this flow: they go on with the steps now at their "
                    "next positions.",
                    waiting,
                )
                % waiting,
                messages.WARNING,
            )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        flow = self.get_object(request, unquote(object_id))
        extra = {}
        if flow is not None:
            dated = "since" in request.GET or "until" in request.GET
            period = FiguresPeriodForm(request.GET if dated else None)
            # Callables: the template computes them only when it renders the page.
            extra = {
                "flow_problems": partial(validation.problems, flow),
                "period_form": period,
                "figures": partial(flow_figures, flow, *period.bounds()),
                "object_actions": [
                    (action, label)
                    for action, label in [*self.OBJECT_ACTIONS[flow.status], self.COPY_BUTTON]
                    if self._may_run(request, action)
                ],
                "can_dry_run": may_view_contacts(request),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    # --- actions ---------------------------------------------------------------------

    @admin.action(description=_("Activate the selected flows"), permissions=["change"])
    def activate(self, request, queryset):
        self._switch_on(
            request,
            queryset.exclude(status=FlowStatus.ACTIVE),
            refused=_("“{flow}” was not activated: {problem} ({count})"),
            done=ngettext_lazy("%(n)d flow activated.", "%(n)d flows activated.", "n"),
        )

    @admin.action(description=_("Resume the selected paused flows"), permissions=["change"])
    def resume(self, request, queryset):
        self._switch_on(
            request,
            queryset.filter(status=FlowStatus.PAUSED),
            refused=_("“{flow}” was not resumed: {problem} ({count})"),
            done=ngettext_lazy("%(n)d flow resumed.", "%(n)d flows resumed.", "n"),
        )

    def _switch_on(self, request, queryset, *, refused, done):
        """Activate the flows that pass validation; say why the others did not. ``refused``
        and ``done`` are the messages for a flow refused and for the count switched on."""
        switched = 0
        for flow in queryset:
            found = validation.blocking(flow)
            if found:
                self.message_user(
                    request,
                    format_html(
                        refused,
                        flow=flow,
                        problem=found[0].text,
                        count=ngettext(
                            "%d problem in all, listed on its page",
                            "%d problems in all, listed on its page",
                            len(found),
                        )
                        % len(found),
                    ),
                    messages.ERROR,
                )
                continue
            flow.status = FlowStatus.ACTIVE
            flow.activated_at = flow.activated_at or timezone.now()
            flow.save(update_fields=["status", "activated_at", "updated_at"])
            switched += 1
        self.message_user(
            request,
            done % {"n": switched},
            messages.SUCCESS if switched else messages.WARNING,
        )

    @admin.action(description=_("Pause the selected flows"), permissions=["change"])
    def pause(self, request, queryset):
        paused = queryset.filter(status=FlowStatus.ACTIVE).update(
            status=FlowStatus.PAUSED, updated_at=timezone.now()
        )
        self.message_user(
            request,
            ngettext(
                "%d flow paused: its contacts wait where they are until it is resumed.",
                "%d flows paused: their contacts wait where they are until they are resumed.",
                paused,
            )
            % paused,
            messages.SUCCESS if paused else messages.WARNING,
        )

    @admin.action(description=_("Archive the selected flows"), permissions=["change"])
    def archive(self, request, queryset):
        with transaction.atomic():
            ids = list(queryset.exclude(status=FlowStatus.ARCHIVED).values_list("pk", flat=True))
            Flow.objects.filter(pk__in=ids).update(
                status=FlowStatus.ARCHIVED, updated_at=timezone.now()
            )
            active = Enrollment.objects.filter(flow_id__in=ids, state=EnrollmentState.ACTIVE)
            exited = exit_enrollments(list(active.only("pk", "state")), "flow archived")
        self.message_user(
            request,
            ngettext("%(n)d flow archived", "%(n)d flows archived", len(ids)) % {"n": len(ids)}
            + "; "
            + ngettext(
                "%(n)d contact taken out of it, their waiting messages cancelled.",
                "%(n)d contacts taken out, their waiting messages cancelled.",
                exited,
            )
            % {"n": exited},
            messages.SUCCESS if ids else messages.WARNING,
        )

    @admin.action(description=_("Copy the selected flows as drafts"), permissions=["add"])
    def duplicate(self, request, queryset):
        copies = [duplicate_flow(flow) for flow in queryset]
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:omnichannel_flow_change", args=[c.pk]), c) for c in copies),
        )
        self.message_user(
            request,
            format_html(
                "{}: {}",
                ngettext("%d flow copied as a draft", "%d flows copied as drafts", len(copies))
                % len(copies),
                links,
            ),
            messages.SUCCESS,
        )

    # --- views -----------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/dry-run/",
                view(self.dry_run_view),
                name="omnichannel_flow_dry_run",
            ),
            path(
                "<path:object_id>/do/<str:action>/",
                view(require_POST(self.object_action_view)),
                name="omnichannel_flow_do",
            ),
            *super().get_urls(),
        ]

    def object_action_view(self, request, object_id, action):
        """The buttons on a flow's page run the list actions on that one flow."""
        offered = {name for buttons in self.OBJECT_ACTIONS.values() for name, _label in buttons}
        if action not in offered | {self.COPY_BUTTON[0]}:
            raise Http404
        flow = self.get_object(request, unquote(object_id))
        if flow is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self._may_run(request, action):
            raise PermissionDenied
        getattr(self, action)(request, Flow.objects.filter(pk=flow.pk))
        return HttpResponseRedirect(reverse("admin:omnichannel_flow_change", args=[flow.pk]))

    def _may_run(self, request, action):
        """Whether the user holds the permissions of ``action``, as the list's actions."""
        run = getattr(self, action)
        return all(getattr(self, f"has_{p}_permission")(request) for p in run.allowed_permissions)

    def dry_run_view(self, request, object_id):
        """Who would receive what, when: the flow replayed for recent contacts."""
        flow = self.get_object(request, unquote(object_id))
        if flow is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        # The page lists real contacts and what they would get.
        if not (self.has_view_permission(request, flow) and may_view_contacts(request)):
            raise PermissionDenied
        form = DryRunForm(request.GET or None)
        options = form.options()
        if options["who"] == "enrolled":
            enrollments = (
                Enrollment.objects.filter(flow=flow)
                .select_related("flow", "contact", "cart")
                .prefetch_related("contact__push_subscriptions")
                .order_by("-enrolled_at")
            )
            plans = dry_run_enrolled(enrollments[: DryRunForm.LIMIT])
        else:
            contacts = Contact.objects.prefetch_related("push_subscriptions")
            plans = dry_run(
                flow,
                contacts.order_by("-created_at")[: DryRunForm.LIMIT],
                from_signup=options["start"] == "signup",
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": flow,
            "title": _("Dry run of “%s”") % flow,
            "form": form,
            "plans": plans,
            "limit": DryRunForm.LIMIT,
            "inactive": flow.status != FlowStatus.ACTIVE,
        }
        return TemplateResponse(request, "admin/omnichannel/flow/dry_run.html", context)


class DryRunForm(forms.Form):
    LIMIT = 20
    DEFAULTS = {"who": "newest", "start": "now"}

    who = forms.ChoiceField(
        label=_("Contacts"),
        required=False,
        choices=[
            ("newest", _("the %d newest contacts, as if triggered") % LIMIT),
            ("enrolled", _("the %d latest enrolled, from their own trigger") % LIMIT),
        ],
    )
    start = forms.ChoiceField(
        label=_("Triggered"),
        required=False,
        choices=[("now", _("now")), ("signup", _("at their signup"))],
        help_text=_("For new contacts only."),
    )

    def options(self):
        """The choices made, the defaults for the rest (and for invalid ones)."""
        chosen = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return {name: chosen.get(name) or default for name, default in self.DEFAULTS.items()}


def duplicate_flow(flow):
    """A draft copy of ``flow`` with its steps, variants and contents (a new slug, no
    enrollments), e.g. to build a new series from the welcome series."""
    with transaction.atomic():
        copy = Flow.objects.get(pk=flow.pk)
        copy.pk, copy._state.adding = None, True
        copy.name = (_("%s (copy)") % flow.name)[: Flow._meta.get_field("name").max_length]
        copy.slug = _free_slug(flow.slug)
        copy.status, copy.activated_at = FlowStatus.DRAFT, None
        copy.save()
        for step in Step.objects.filter(flow=flow).prefetch_related("variants", "contents"):
            step_variants, contents = list(step.variants.all()), list(step.contents.all())
            step.pk, step._state.adding, step.flow = None, True, copy
            step.save()
            new_variants = {}
            for variant in step_variants:
                old_pk = variant.pk
                variant.pk, variant._state.adding, variant.step = None, True, step
                variant.save()
                new_variants[old_pk] = variant
            for content in contents:
                content.variant = new_variants.get(content.variant_id)
                content.pk, content._state.adding, content.step = None, True, step
                content.save()
    return copy


def _free_slug(slug):
    base = f"{slug[:40]}-copy"  # room for "-9999" within the slug's 50 characters
    taken = set(Flow.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


# --- steps -------------------------------------------------------------------------------

# Test sends on these go to a phone number the staff member types.
PHONE_CHANNELS = (Channel.SMS, Channel.WHATSAPP)


class StepForm(OneBasedPositionForm):
    conditions = ConditionsField(
        label=_("Conditions"),
        help_text=_("The step is skipped for contacts who do not meet all of these."),
    )


class StepVariantInline(admin.TabularInline):
    model = StepVariant
    extra = 0
    fields = ("name", "weight", "channel", "delay", "offer_value")
    verbose_name_plural = _(
        "A/B variants (each needs its own content below; empty fields follow the step)"
    )


class ContentFormSet(forms.BaseInlineFormSet):
    """One content per variant, channel and language: say so instead of failing on the
    database constraint."""

    def clean(self):
        super().clean()
        seen = set()
        for form in self.forms:
            data = form.cleaned_data
            if not data or data.get("DELETE"):
                continue
            key = (data.get("variant"), data.get("channel"), data.get("locale") or "")
            if key in seen:
                raise ValidationError(
                    _(
                        "Two contents for %(channel)s in %(language)s%(variant)s: keep one, "
                        "or give the other a different language."
                    )
                    % {
                        "channel": Channel(key[1]).label,
                        "language": key[2] or _("the default language"),
                        "variant": _(" for variant “%s”") % key[0].name if key[0] else "",
                    }
                )
            seen.add(key)


class StepContentInline(admin.StackedInline):
    model = StepContent
    formset = ContentFormSet
    extra = 0
    fieldsets = (
        (None, {"fields": (("channel", "locale", "variant"), "text")}),
        (_("Email"), {"fields": ("subject", "preheader", "html")}),
        (_("Web push and on-site inbox"), {"fields": ("title", "body", "url", "icon")}),
        (_("WhatsApp template"), {"fields": ("content_sid", "variables")}),
    )

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        variant = formset.form.base_fields["variant"]
        variant.queryset = obj.variants.all() if obj else StepVariant.objects.none()
        variant.help_text = _("Empty: the step's own content. Save new variants first.")
        return formset


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    """A step's page: its contents per channel and language, variants and conditions.
    Reached from its flow's page, so it is not listed on the admin index."""

    form = StepForm
    list_display = ("__str__", "flow", "channel", "delay", "offer_kind")
    list_filter = ("flow", "channel")
    list_select_related = ("flow",)
    search_fields = ("name", "flow__name")
    inlines = [StepVariantInline, StepContentInline]
    fieldsets = (
        (None, {"fields": ("flow", ("position", "name"), "delay", "channel")}),
        (_("Who gets it"), {"fields": ("conditions", "min_cart_value")}),
        (
            _("Offer"),
            {"fields": (("offer_kind", "offer_value"), ("offer_prefix", "offer_valid_for"))},
        ),
    )

    def get_model_perms(self, request):
        return {}

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
            *super().get_urls(),
        ]

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
        """Queue one content of the step to the staff member, as a transactional message
        (consent and caps do not hold a test back), and say where to follow it."""
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
        message = form.send()
        self.message_user(
            request,
            format_html(
                '{} <a href="{}">{}</a>',
                _("Test %(channel)s queued to %(to)s.")
                % {"channel": message.get_channel_display(), "to": form.address},
                reverse("admin:omnichannel_message_change", args=[message.pk]),
                _("Follow it in Messages."),
            ),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(back)


def may_view_contacts(request):
    return request.user.has_perm(f"{Contact._meta.app_label}.view_contact")


def _problems_of(step):
    return [
        p for p in validation.problems(step.flow) if p.step is not None and p.step.pk == step.pk
    ]


class TestSendForm(forms.Form):
    """What a test send needs: which content, and for SMS / WhatsApp the staff phone.
    Email, push and inbox go to the contact of the staff member's own email."""

    content = forms.ModelChoiceField(queryset=StepContent.objects.none())
    phone = forms.CharField(required=False, max_length=32)
    contact = forms.ModelChoiceField(queryset=Contact.objects.all(), required=False)

    def __init__(self, *args, step, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.step, self.user, self.address = step, user, ""
        self.fields["content"].queryset = step.contents.select_related("variant")
        self.fields["content"].error_messages["invalid_choice"] = _(
            "That content is not one of this step's (deleted meanwhile?)."
        )
        self.fields["contact"].error_messages["invalid_choice"] = _("That contact does not exist.")

    def clean(self):
        cleaned = super().clean()
        content = cleaned.get("content")
        if content is None:
            return cleaned
        about = cleaned.get("contact") or sample_contact()
        broken = preview_content(self.step, content, about, content.variant).errors
        if broken:
            raise ValidationError(
                _("the %(part)s does not render (%(error)s): fix it first.")
                % {"part": broken[0].label, "error": broken[0].error}
            )
        if content.channel in PHONE_CHANNELS:
            try:
                self.address = normalize_phone(cleaned.get("phone"))
            except ValidationError as exc:
                self.add_error("phone", exc)
                return cleaned
            if not self.address:
                self.add_error("phone", _("Type the phone number to send the test to."))
        elif not self.user.email:
            raise ValidationError(
                _(
                    "Your user account has no email address: add one to your user "
                    "(Authentication › Users) to receive tests."
                )
            )
        else:
            self.address = self.user.email
        return cleaned

    def send(self):
        content = self.cleaned_data["content"]
        if content.channel in PHONE_CHANNELS:
            recipient = resolve_contact(phone=self.address, source="admin test send")
        else:
            recipient = resolve_contact(email=self.address, source="admin test send")
        about = self.cleaned_data.get("contact") or sample_contact()
        message, _created = enqueue(
            recipient,
            content.channel,
            content.as_message_content(),
            idempotency_key=f"test:{self.step.pk}:{content.pk}:{uuid.uuid4().hex}",
            context=template_context(self.step, about, content, variant=content.variant),
            purpose=Purpose.TRANSACTIONAL,
            source="test send",
        )
        return message
