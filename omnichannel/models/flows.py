"""Flows: triggers, steps with delays, content and branches, and who is in them."""

import uuid
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .channels import Channel


class FlowKind(models.TextChoices):
    WELCOME = "welcome", _("Welcome series")
    CART_RECOVERY = "cart_recovery", _("Cart recovery")
    # The journey after a purchase: per order (post-purchase), and after a lapse (win-back).
    POST_PURCHASE = "post_purchase", _("Post-purchase")
    WIN_BACK = "win_back", _("Win-back")
    BROWSE_ABANDONMENT = "browse_abandonment", _("Browse abandonment")
    PRODUCT_NEWS = "product_news", _("Back in stock / price drop")
    CUSTOM = "custom", _("Custom")


class FlowStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ARCHIVED = "archived", _("Archived")


class Trigger(models.TextChoices):
    SIGNUP = "signup", _("Signs up in the shop")
    POPUP_SUBSCRIBED = "popup_subscribed", _("Subscribes through a popup")
    FIRST_ORDER = "first_order", _("Places a first order")
    CART_ABANDONED = "cart_abandoned", _("Abandons a cart")
    # Orders: each purchase, an order reaching REVIEW_ORDER_STATUSES, a lapse (win-back).
    ORDER_PLACED = "order_placed", _("Places an order")
    ORDER_DELIVERED = "order_delivered", _("An order is delivered")
    LAPSED = "lapsed", _("Has not ordered for a while")
    CUSTOM_EVENT = "custom_event", _("A custom event (track_event)")
    # Browsing (omnichannel.browsing)
    BROWSE_ABANDONED = "browse_abandoned", _("Views products and leaves without a cart")
    BACK_IN_STOCK = "back_in_stock", _("A product they viewed or asked about is back")
    PRICE_DROP = "price_drop", _("A product they viewed or asked about costs less")


# The triggers that enrol with an order: their steps know it, and may be transactional.
ORDER_TRIGGERS = (Trigger.ORDER_PLACED, Trigger.ORDER_DELIVERED)


def validate_triggers(value):
    """``Flow.also_triggered_by``: a list of distinct ``Trigger`` values.

    (Codes of their own: a field replaces the message of a code it knows, e.g. "invalid".)
    """
    if not isinstance(value, list):
        raise ValidationError(_("Give the extra triggers as a list."), code="not_a_list")
    unknown = [item for item in value if item not in Trigger.values]
    if unknown:
        raise ValidationError(
            _("Unknown trigger: %(triggers)s. Choose from: %(choices)s."),
            code="unknown_trigger",
            params={"triggers": ", ".join(map(str, unknown)), "choices": ", ".join(Trigger.values)},
        )
    if len(set(value)) != len(value):
        raise ValidationError(_("A trigger is listed twice."), code="duplicate_trigger")


class ExitGoal(models.TextChoices):
    ORDERED = "ordered", _("Placed an order")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed from every channel")
    CART_EMPTIED = "cart_emptied", _("Emptied the cart")
    # Browsing (omnichannel.browsing): a cart recovery running counts, it takes over.
    ADDED_TO_CART = "added_to_cart", _("Added to the cart")


class Flow(models.Model):
    """A series of messages that a trigger starts for one contact (or one cart)."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), unique=True, help_text=_("Used in UTM campaign names."))
    kind = models.CharField(_("kind"), max_length=20, choices=FlowKind.choices)
    trigger = models.CharField(_("trigger"), max_length=24, choices=Trigger.choices)
    also_triggered_by = models.JSONField(
        _("also started by"),
        default=list,
        blank=True,
        validators=[validate_triggers],
        help_text=_(
            "More triggers that start the flow. A contact goes through it once per the "
            "re-entry rule, whichever trigger came first."
        ),
    )
    trigger_event = models.CharField(
        _("custom event name"),
        max_length=100,
        blank=True,
        help_text=_("For the custom event trigger: the name passed to track_event()."),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=FlowStatus.choices, default=FlowStatus.DRAFT
    )
    activated_at = models.DateTimeField(
        _("activated"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Only triggers after this moment enrol: activating never messages the past."),
    )
    priority = models.SmallIntegerField(
        _("priority"),
        default=0,
        help_text=_(
            "When a contact is in several flows, the highest priority sends first, and a "
            "lower one's marketing waits a day after a higher one's."
        ),
    )
    conditions = models.JSONField(
        _("entry conditions"),
        default=list,
        blank=True,
        help_text=_("Who may enter; chosen from the conditions list."),
    )
    exit_goals = models.JSONField(
        _("exit goals"),
        default=list,
        blank=True,
        help_text=_("Reaching any of these ends the flow for the contact."),
    )
    reentry_cooldown = models.DurationField(
        _("re-entry cooldown"),
        null=True,
        blank=True,
        help_text=_("Empty: a contact goes through this flow once. Otherwise: again after this."),
    )
    holdout_percent = models.PositiveSmallIntegerField(
        _("holdout %"),
        default=0,
        validators=[MaxValueValidator(50)],
        help_text=_("Share of entrants who receive nothing, to measure the flow's lift."),
    )
    attribution_window = models.DurationField(
        _("attribution window"),
        default=timedelta(days=5),
        help_text=_("Orders this long after a message (or a click) count for the flow."),
    )
    canvas_layout = models.JSONField(
        _("canvas layout"),
        default=dict,
        blank=True,
        editable=False,
        help_text=_("Where the canvas draws each step: {step id: {x, y}}."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("flow")
        verbose_name_plural = _("flows")
        ordering = ["-priority", "name"]

    def __str__(self):
        return self.name

    @property
    def is_active(self):
        return self.status == FlowStatus.ACTIVE

    @property
    def triggers(self):
        """Every trigger that starts the flow: the main one first."""
        return [self.trigger, *(t for t in self.also_triggered_by if t != self.trigger)]

    def clean(self):
        if isinstance(self.also_triggered_by, list) and self.trigger in self.also_triggered_by:
            raise ValidationError(
                {"also_triggered_by": _("The main trigger need not be listed again.")}
            )


BEST_CHANNEL = "best"
STEP_CHANNELS = [(BEST_CHANNEL, _("Best available channel")), *Channel.choices]


class OfferKind(models.TextChoices):
    NONE = "", _("No offer")
    PERCENT = "percent", _("Percent off")
    FIXED = "fixed", _("Fixed amount off")
    FREE_SHIPPING = "free_shipping", _("Free shipping")


class StepKind(models.TextChoices):
    MESSAGE = "message", _("Message")
    SPLIT = "split", _("Yes / no split")
    EXIT = "exit", _("End of the path")


class Step(models.Model):
    """One node of a flow: a message (when, on which channel, with which offer), a yes / no
    split on a condition, or the end of a path.

    Every step knows its successors: ``next_step`` (a split's "yes" branch) and, for a
    split, ``no_next_step``; an empty one means the next step by position, so a linear
    flow needs neither. An end step has no successor.
    """

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(
        _("kind"), max_length=8, choices=StepKind.choices, default=StepKind.MESSAGE
    )
    next_step = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("then"),
        help_text=_(
            "The step that follows (a split: when the condition is met). Empty: the "
            "next step in the order."
        ),
    )
    no_next_step = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("otherwise"),
        help_text=_(
            "A split: the step for contacts who do not meet the condition. Empty: the "
            "next step in the order."
        ),
    )
    delay = models.DurationField(
        _("delay"),
        default=timedelta(0),
        help_text=_("After the previous step (the first step: after the trigger)."),
    )
    wait_until = models.TimeField(
        _("then wait until (contact's local time)"),
        null=True,
        blank=True,
        help_text=_(
            "After the delay, wait until this time of day in the contact's time zone (their "
            "profile's, else their phone number's, else the shop's), e.g. 10:00. Empty: no "
            "wait. Quiet hours still apply when the message is sent."
        ),
    )
    channel = models.CharField(
        _("channel"), max_length=16, choices=STEP_CHANNELS, default=Channel.EMAIL
    )
    conditions = models.JSONField(
        _("conditions"),
        default=list,
        blank=True,
        help_text=_(
            "A message is skipped for contacts who do not meet them; a split sends those "
            "who meet them all one way, the others the other way."
        ),
    )
    offer_kind = models.CharField(
        _("offer"), max_length=16, choices=OfferKind.choices, default="", blank=True
    )
    offer_value = models.DecimalField(
        _("offer value"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    offer_prefix = models.CharField(_("code prefix"), max_length=12, blank=True)
    offer_valid_for = models.DurationField(
        _("code valid for"), default=timedelta(days=3), help_text=_("From the send.")
    )
    transactional = models.BooleanField(
        _("transactional"),
        default=False,
        help_text=_(
            "Sent without marketing consent, as part of the order: only for a thank-you or "
            "order note of a flow started by an order, with no offer and no products."
        ),
    )
    min_cart_value = models.DecimalField(
        _("minimum cart value"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Skip the step for smaller carts (cart recovery)."),
    )

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["flow", "position", "id"]

    def __str__(self):
        return f"{self.flow}: {self.position + 1}. {self.name}"

    @property
    def has_offer(self):
        return self.kind == StepKind.MESSAGE and bool(self.offer_kind)


class StepVariant(models.Model):
    """An A/B arm of a step. A step without variants sends its own content to everyone."""

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(_("name"), max_length=60)
    weight = models.PositiveSmallIntegerField(
        _("weight"), default=1, validators=[MinValueValidator(1)]
    )
    channel = models.CharField(
        _("channel"),
        max_length=16,
        choices=STEP_CHANNELS,
        blank=True,
        help_text=_("Empty: the step's channel."),
    )
    delay = models.DurationField(
        _("delay"), null=True, blank=True, help_text=_("Empty: the step's delay.")
    )
    offer_value = models.DecimalField(
        _("offer value"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: the step's offer."),
    )
    # The loser of a promoted A/B test: no longer drawn for new enrollments, while the
    # enrollments that already had it keep it (their next steps and figures stay theirs).
    retired = models.BooleanField(
        _("retired"),
        default=False,
        help_text=_("No longer drawn for new contacts; contacts who already have it keep it."),
    )

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        ordering = ["step", "id"]

    def __str__(self):
        return f"{self.step} / {self.name}"


class StepContent(models.Model):
    """What a step says on one channel, in one language (and, for A/B, one variant)."""

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="contents")
    variant = models.ForeignKey(
        StepVariant, null=True, blank=True, on_delete=models.CASCADE, related_name="contents"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    locale = models.CharField(
        _("language"), max_length=35, blank=True, help_text=_("Empty: the default language.")
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    preheader = models.CharField(_("preheader"), max_length=200, blank=True)
    text = models.TextField(_("text"), blank=True, help_text=_("Email text part, SMS, WhatsApp."))
    html = models.TextField(_("HTML"), blank=True)
    blocks = models.JSONField(
        _("email blocks"),
        default=list,
        blank=True,
        help_text=_("The email built from blocks. Empty: the HTML above is sent as written."),
    )
    title = models.CharField(_("title"), max_length=120, blank=True, help_text=_("Push, inbox."))
    body = models.TextField(_("body"), blank=True, help_text=_("Push, inbox."))
    url = models.CharField(_("link"), max_length=500, blank=True, help_text=_("Push, inbox."))
    icon = models.CharField(_("icon"), max_length=500, blank=True, help_text=_("Push."))
    content_sid = models.CharField(
        _("WhatsApp template SID"), max_length=64, blank=True, help_text=_("HX...")
    )
    variables = models.JSONField(
        _("WhatsApp template variables"), default=dict, blank=True, help_text='{"1": "..."}'
    )

    class Meta:
        verbose_name = _("content")
        verbose_name_plural = _("contents")
        # One content per step, channel and language: per variant when there are variants.
        constraints = [
            models.UniqueConstraint(
                fields=["step", "channel", "locale"],
                condition=models.Q(variant__isnull=True),
                name="omnichannel_content_uniq",
            ),
            models.UniqueConstraint(
                fields=["variant", "channel", "locale"],
                condition=models.Q(variant__isnull=False),
                name="omnichannel_variant_content_uniq",
            ),
        ]

    def __str__(self):
        return (
            f"{self.step} ({self.get_channel_display()}{' ' + self.locale if self.locale else ''})"
        )

    def as_message_content(self):
        """The non-empty parts, as the outbox stores them."""
        parts = {
            name: getattr(self, name)
            for name in (
                "subject",
                "preheader",
                "text",
                "html",
                "title",
                "body",
                "url",
                "icon",
                "content_sid",
            )  # fmt: skip
            if getattr(self, name)
        }
        if self.variables:
            parts["variables"] = self.variables
        if self.blocks:
            parts["blocks"] = self.blocks
        return parts

    def template_text(self):
        """Every template of this content, joined, to look for a variable's name in."""
        return "\n".join([self.html, self.text, self.body, str(self.blocks or "")])


class EnrollmentState(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    EXITED = "exited", _("Exited")
    HELD_OUT = "held_out", _("Held out")


class Enrollment(models.Model):
    """One contact (or cart) going through one flow.

    ``trigger_key`` names the event that started it and is unique per flow, so a trigger
    fired twice enrols once; ``trigger`` says which of the flow's triggers it was.
    ``next_step`` is the step the contact waits for (by id: reordering or inserting steps
    never moves them; empty once they are through), ``next_step_at`` when the sweeper acts
    next; the row, not a Celery ETA, holds the schedule.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="enrollments")
    contact = models.ForeignKey(
        "omnichannel.Contact", on_delete=models.CASCADE, related_name="enrollments"
    )
    cart = models.ForeignKey(
        "omnichannel.CartSnapshot",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="enrollments",
    )
    trigger_key = models.CharField(_("trigger"), max_length=200)
    trigger = models.CharField(_("started by"), max_length=24, blank=True)
    state = models.CharField(
        _("state"), max_length=12, choices=EnrollmentState.choices, default=EnrollmentState.ACTIVE
    )
    exit_reason = models.CharField(_("exit reason"), max_length=200, blank=True)
    next_step = models.ForeignKey(
        Step,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="waiting",
        verbose_name=_("next step"),
    )
    next_step_at = models.DateTimeField(_("next step at"), null=True, blank=True)
    variants = models.JSONField(_("variants"), default=dict, blank=True)
    offer_code = models.CharField(_("offer code"), max_length=64, blank=True)
    offer_expires_at = models.DateTimeField(_("offer expires"), null=True, blank=True)
    context = models.JSONField(_("trigger data"), default=dict, blank=True)
    triggered_at = models.DateTimeField(_("triggered"))
    enrolled_at = models.DateTimeField(_("enrolled"), auto_now_add=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)
    locked_by = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        ordering = ["-enrolled_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "trigger_key"], name="omnichannel_enrollment_uniq"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_step_at"],
                condition=models.Q(state="active"),
                name="omnichannel_enrollment_due",
            ),
            models.Index(fields=["contact", "state"], name="omnichannel_enrollment_contact"),
        ]

    def __str__(self):
        return f"{self.contact} in {self.flow} ({self.get_state_display()})"


class StepVisit(models.Model):
    """A step acting on an enrollment: a message queued (or skipped), a split decided, an
    end reached. What a flow's graph counts per step and per way out of a split.

    Unique per enrollment, step and the time it was due, so two sweepers acting on the
    same due step record it once, while a path looping back records each round.
    """

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="visits")
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="visits")
    branch = models.BooleanField(_("way taken"), null=True, help_text=_("A split: yes or no."))
    due_at = models.DateTimeField(_("due"))
    visited_at = models.DateTimeField(_("visited"))

    class Meta:
        verbose_name = _("step visit")
        verbose_name_plural = _("step visits")
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "step", "due_at"], name="omnichannel_step_visit_uniq"
            )
        ]
        indexes = [models.Index(fields=["step", "branch"], name="omnichannel_visit_step")]

    def __str__(self):
        return f"{self.enrollment} at {self.step}"
