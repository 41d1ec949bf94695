"""The forms of the flow builder: a flow, its steps and contents, the figures' period, the
dry run and the test send."""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ...channels import get_backend
from ...core.normalize import normalize_phone
from ...flows.preview import preview_content, sample_contact, unmark
from ...models import Contact, Message, Step, StepContent
from ...models.channels import Channel
from ...models.consent import Purpose
from ...models.flows import ExitGoal, StepKind, Trigger
from ...outbox.blocks import validate_blocks
from .widgets import ConditionsField, EmailBlocksWidget

# Test sends on these go to a phone number the staff member types.
PHONE_CHANNELS = (Channel.SMS, Channel.WHATSAPP)


class FlowForm(forms.ModelForm):
    conditions = ConditionsField(
        label=_("Entry conditions"),
        help_text=_("A contact enters only when they meet all of these. None: everyone."),
    )
    also_triggered_by = forms.MultipleChoiceField(
        label=_("Also started by"),
        choices=Trigger.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_(
            "More triggers that start the flow. A contact goes through it once per the "
            "re-entry rule, whichever trigger came first."
        ),
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
        main = cleaned.get("trigger")
        # Ticking the main trigger again changes nothing: keep the list to the others.
        also = [t for t in cleaned.get("also_triggered_by") or [] if t != main]
        cleaned["also_triggered_by"] = also
        if Trigger.CUSTOM_EVENT in [main, *also] and not cleaned.get("trigger_event"):
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


class StepChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.position + 1}. {obj.name} ({obj.get_kind_display()})"


class StepForm(OneBasedPositionForm):
    """A step's own page: where it leads is chosen among the steps of its flow."""

    conditions = ConditionsField(
        label=_("Conditions"),
        help_text=_(
            "A message is skipped for contacts who do not meet all of these; a split sends "
            "those who meet them all the “then” way, the others the “otherwise” way."
        ),
    )

    class Meta:
        field_classes = {"next_step": StepChoiceField, "no_next_step": StepChoiceField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        flow_id = self.instance.flow_id or self.initial.get("flow")
        for name in ("next_step", "no_next_step"):
            if name in self.fields:
                field = self.fields[name]
                field.queryset = Step.objects.filter(flow_id=flow_id).order_by("position", "id")
                field.empty_label = _("The next step in the order")

    def clean(self):
        cleaned = super().clean()
        flow = cleaned.get("flow") or getattr(self.instance, "flow", None)
        for name in ("next_step", "no_next_step"):
            target = cleaned.get(name)
            if target is not None and flow is not None and target.flow_id != flow.pk:
                self.add_error(name, _("Choose a step of this flow."))
        kind = cleaned.get("kind")
        if cleaned.get("no_next_step") and kind != StepKind.SPLIT:
            self.add_error(
                "no_next_step", _("Only a split has an “otherwise” way: leave this empty.")
            )
        if cleaned.get("next_step") and kind == StepKind.EXIT:
            self.add_error("next_step", _("An end of the path leads nowhere: leave this empty."))
        return cleaned


class StepContentForm(forms.ModelForm):
    class Meta:
        widgets = {"blocks": EmailBlocksWidget}

    def clean_blocks(self):
        blocks = self.cleaned_data["blocks"] or []
        validate_blocks(blocks)
        return blocks

    def clean(self):
        data = super().clean()
        if data.get("blocks") and data.get("html", "").strip():
            # Which one would be sent is not for staff to guess.
            self.add_error(
                "html",
                _(
                    "This email has blocks and HTML: empty one of them (the blocks, to send "
                    "the HTML)."
                ),
            )
        return data

    def clean_text(self):
        # Browsers send a textarea's line breaks as CR LF; an SMS would pay a character
        # for each CR, which the counter beside the field (and the reader) never sees.
        return self.cleaned_data["text"].replace("\r\n", "\n")


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


class TestSendForm(forms.Form):
    """What a test send needs: which content, and for SMS / WhatsApp the staff phone.
    Email goes to the staff member's own address, push to the browsers subscribed under
    it (their own contact, looked up, never created).

    A test is sent straight through the channel's backend, with nothing written: no
    contact, no outbox row. An outbox row needs a contact, and a contact made for it (or
    found by the number typed, which may be a customer's) would carry the test on its
    timeline, in the figures and under its frequency cap. The content is rendered exactly
    as the preview shows it, for the previewed contact.
    """

    content = forms.ModelChoiceField(queryset=StepContent.objects.none())
    phone = forms.CharField(required=False, max_length=32)
    contact = forms.ModelChoiceField(queryset=Contact.objects.all(), required=False)

    def __init__(self, *args, step, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.step, self.user, self.address, self.preview = step, user, "", None
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
        if content.channel == Channel.INBOX:
            raise ValidationError(
                _(
                    "the on-site inbox has no test send: an inbox message is kept on its "
                    "contact's page, and the preview shows it as it will look."
                )
            )
        about = cleaned.get("contact") or sample_contact()
        self.preview = preview_content(self.step, content, about, content.variant)
        self._check_renders(self.preview)
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

    def _check_renders(self, preview):
        if broken := preview.errors:
            raise ValidationError(
                _("the %(part)s does not render (%(error)s): fix it first.")
                % {"part": broken[0].label, "error": broken[0].error}
            )
        for part in preview.parts:
            for missing in part.blocking:
                raise ValidationError(
                    _("the %(part)s uses %(tag)s, but %(reason)s: fix it first.")
                    % {"part": part.label, "tag": missing.tag, "reason": missing.reason}
                )

    def recipient(self):
        """A stand-in contact holding the staff member's address, never saved; for push,
        the staff member's own contact, for the browsers subscribed under their email."""
        channel = self.cleaned_data["content"].channel
        if channel in PHONE_CHANNELS:
            return Contact(phone=self.address)
        if channel == Channel.PUSH:
            own = Contact.objects.filter(email__iexact=self.address).first()
            if own is None or not own.push_subscriptions.exists():
                raise ValidationError(
                    _(
                        "No browser is subscribed to push under %(email)s: allow "
                        "notifications in the shop while signed in with that email, then "
                        "try again."
                    )
                    % {"email": self.address}
                )
            return own
        return Contact(email=self.address)

    def send(self):
        """Send the test; returns the backend's ``SendResult``. Raises ``SendError`` (the
        provider refused), ``ChannelNotConfigured`` or ``ValidationError`` (push without
        a subscribed browser)."""
        content = self.cleaned_data["content"]
        backend = get_backend(content.channel)
        message = Message(
            contact=self.recipient(),
            channel=content.channel,
            purpose=Purpose.TRANSACTIONAL,
            source="test send",
            # A push service keeps a test this long at most (the TTL follows expiry).
            expires_at=timezone.now() + dt.timedelta(minutes=10),
        )
        message.to = backend.address(message) or ""
        return backend.send(message, sent_parts(self.preview))


def sent_parts(preview):
    """The rendered parts of ``preview`` as a backend takes them; a variable only the
    previewed contact lacks (a profile attribute) shows as its tag."""
    return {part.name: unmark(part.value) for part in preview.parts}
