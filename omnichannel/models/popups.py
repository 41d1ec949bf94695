"""Popups: what staff build in the admin, and what visitors did with them.

A ``Popup`` holds everything that is the same for every visitor (when it shows, to whom,
what it collects, what it gives). Its ``PopupVariant`` rows hold what a visitor reads and
sees: the texts, the image, the look. A variant is written in one language (or for all),
so the variants of a popup are both its A/B test and its translations.
"""

import re
import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..conf import omnichannel_settings
from .channels import Channel

colour_validator = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", _("Enter a colour as # and six hexadecimal digits, e.g. #1f6f5c.")
)

# Extra fields a popup may collect. These names fill the contact's profile; any other
# name is stored in the contact's attributes.
PROFILE_FIELD_NAMES = ("first_name", "last_name", "country")
EXTRA_FIELD_TYPES = ("text", "number", "select")
EXTRA_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
RESERVED_FIELD_NAMES = {"email", "phone", "consents", "website", "token", "popup", "variant"}


class PopupStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")


class Gift(models.TextChoices):
    NONE = "none", _("No gift")
    PERCENT_CODE = "percent", _("Unique code: percent off")
    FIXED_CODE = "fixed", _("Unique code: amount off")
    FREE_SHIPPING_CODE = "free_shipping", _("Unique code: free shipping")
    MESSAGE = "message", _("A message only (e.g. free shipping for everyone)")


class DoubleOptIn(models.TextChoices):
    AUTO = "auto", _("In the double opt-in countries (setting DOUBLE_OPT_IN_COUNTRIES)")
    ALWAYS = "always", _("Always")
    NEVER = "never", _("Never")


class Device(models.TextChoices):
    ALL = "all", _("All devices")
    DESKTOP = "desktop", _("Desktop only")
    MOBILE = "mobile", _("Mobile only")


class VisitorKind(models.TextChoices):
    ALL = "all", _("All visitors")
    NEW = "new", _("New visitors")
    RETURNING = "returning", _("Returning visitors")


class Position(models.TextChoices):
    MODAL = "modal", _("Modal (centre)")
    SLIDE_IN = "slide_in", _("Slide-in (corner)")
    BAR = "bar", _("Bar (top)")


def validate_extra_fields(value):
    """``extra_fields``: a list of {name, label, type, required, choices} objects."""
    if not isinstance(value, list):
        raise ValidationError(_("Enter a list of fields, e.g. [] or [{...}]."))
    seen = set()
    for position, spec in enumerate(value, start=1):
        where = _("Field %(n)s") % {"n": position}
        if not isinstance(spec, dict):
            raise ValidationError(_("%(where)s must be an object.") % {"where": where})
        unknown = set(spec) - {"name", "label", "type", "required", "choices"}
        if unknown:
            raise ValidationError(
                _("%(where)s has unknown keys: %(keys)s.")
                % {"where": where, "keys": ", ".join(sorted(unknown))}
            )
        name = spec.get("name")
        if not isinstance(name, str) or not EXTRA_FIELD_NAME.match(name):
            raise ValidationError(
                _("%(where)s needs a name of lower-case letters, digits and _ (e.g. birth_year).")
                % {"where": where}
            )
        if name in RESERVED_FIELD_NAMES or name in seen:
            raise ValidationError(
                _("%(where)s: the name %(name)s is already taken.") % {"where": where, "name": name}
            )
        seen.add(name)
        label = spec.get("label")
        labels = label.values() if isinstance(label, dict) else [label]
        if not labels or not all(isinstance(text, str) and text.strip() for text in labels):
            raise ValidationError(
                _('%(where)s needs a label: a text, or texts by language {"": ..., "fr": ...}.')
                % {"where": where}
            )
        kind = spec.get("type", "text")
        if kind not in EXTRA_FIELD_TYPES:
            raise ValidationError(
                _("%(where)s: type must be one of %(types)s.")
                % {"where": where, "types": ", ".join(EXTRA_FIELD_TYPES)}
            )
        choices = spec.get("choices")
        if kind == "select" and not (
            isinstance(choices, list) and choices and all(isinstance(c, str) for c in choices)
        ):
            raise ValidationError(
                _("%(where)s: a select needs a list of choices.") % {"where": where}
            )
        if not isinstance(spec.get("required", False), bool):
            raise ValidationError(
                _("%(where)s: required must be true or false.") % {"where": where}
            )


def validate_url_patterns(value):
    for line in value.splitlines():
        pattern = line.strip()
        if pattern and not pattern.startswith("/"):
            raise ValidationError(
                _("%(pattern)s: a pattern is a path starting with /, e.g. /products/*.")
                % {"pattern": pattern}
            )


def validate_countries(value):
    for code in value.replace(",", " ").split():
        if not re.fullmatch(r"[A-Za-z]{2}", code):
            raise ValidationError(
                _("%(code)s is not a two-letter country code (e.g. FR, DE).") % {"code": code}
            )


class Popup(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(
        _("slug"),
        max_length=50,
        unique=True,
        help_text=_("Recorded as the source of the contacts and consents it brings in."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=PopupStatus.choices, default=PopupStatus.DRAFT
    )
    starts_at = models.DateTimeField(_("shown from"), null=True, blank=True)
    ends_at = models.DateTimeField(_("shown until"), null=True, blank=True)
    priority = models.SmallIntegerField(
        _("priority"),
        default=0,
        help_text=_("When several popups match a page, the highest priority is the one shown."),
    )

    # --- what it collects ---------------------------------------------------------------
    collect_email = models.BooleanField(_("ask for an email address"), default=True)
    collect_phone = models.BooleanField(_("ask for a phone number"), default=False)
    offer_push = models.BooleanField(
        _("offer web push notifications"),
        default=False,
        help_text=_("A button; the browser asks for permission only after it is clicked."),
    )
    extra_fields = models.JSONField(
        _("extra fields"),
        default=list,
        blank=True,
        validators=[validate_extra_fields],
        help_text=_(
            'Every extra field costs signups. E.g. [{"name": "first_name", "label": "First '
            'name"}, {"name": "birth_year", "label": "Birth year", "type": "number"}]. '
            "first_name, last_name and country fill the profile; other names are stored as "
            "profile attributes. Types: text, number, select (with choices)."
        ),
    )
    double_opt_in = models.CharField(
        _("double opt-in"),
        max_length=8,
        choices=DoubleOptIn.choices,
        default=DoubleOptIn.AUTO,
        help_text=_(
            "With double opt-in, consents stay pending and the gift is shown only after the "
            "visitor clicks the link mailed to them."
        ),
    )

    # --- the gift -----------------------------------------------------------------------
    gift = models.CharField(_("gift"), max_length=16, choices=Gift.choices, default=Gift.NONE)
    discount_value = models.DecimalField(
        _("discount"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Percent or amount off, for the code gifts."),
    )
    code_valid_days = models.PositiveSmallIntegerField(
        _("code valid for (days)"), default=14, validators=[MinValueValidator(1)]
    )
    code_prefix = models.CharField(
        _("code prefix"),
        max_length=12,
        blank=True,
        validators=[RegexValidator(r"^[A-Za-z0-9-]*$", _("Letters, digits and - only."))],
    )

    # --- triggers (any one fires the popup, once the conditions below hold) -------------
    on_exit_intent = models.BooleanField(
        _("exit intent (desktop)"),
        default=True,
        help_text=_("The pointer leaves the page through the top edge."),
    )
    on_scroll_up = models.BooleanField(
        _("fast scroll up (mobile)"), default=True, help_text=_("Mobile stand-in for exit intent.")
    )
    on_tab_return = models.BooleanField(
        _("return to the tab (mobile)"),
        default=False,
        help_text=_("The visitor switched away and came back."),
    )
    on_back_button = models.BooleanField(
        _("back button (mobile)"),
        default=False,
        help_text=_(
            "The first press of Back shows the popup instead of leaving (armed only after the "
            "visitor touched the page, as browsers require)."
        ),
    )
    inactivity_seconds = models.PositiveIntegerField(
        _("after inactivity (seconds)"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    delay_seconds = models.PositiveIntegerField(
        _("after a delay on the page (seconds)"), null=True, blank=True
    )
    scroll_percent = models.PositiveSmallIntegerField(
        _("after scrolling (percent of the page)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    click_selector = models.CharField(
        _("on click of"),
        max_length=200,
        blank=True,
        help_text=_('A CSS selector, e.g. "#get-discount" or ".newsletter-link".'),
    )
    min_seconds_on_page = models.PositiveSmallIntegerField(
        _("minimum time on the page (seconds)"),
        default=5,
        help_text=_("No trigger fires earlier (except a click)."),
    )
    min_page_views = models.PositiveSmallIntegerField(
        _("minimum pages seen in the visit"), default=1, validators=[MinValueValidator(1)]
    )

    # --- targeting ----------------------------------------------------------------------
    url_include = models.TextField(
        _("show on pages"),
        blank=True,
        validators=[validate_url_patterns],
        help_text=_("One path per line, * as wildcard (e.g. /products/*). Empty: every page."),
    )
    url_exclude = models.TextField(
        _("never on pages"),
        blank=True,
        default="/checkout/*\n/cart/*",
        validators=[validate_url_patterns],
        help_text=_("One path per line, * as wildcard. Wins over the pages above."),
    )
    device = models.CharField(
        _("devices"), max_length=8, choices=Device.choices, default=Device.ALL
    )
    visitors = models.CharField(
        _("visitors"), max_length=10, choices=VisitorKind.choices, default=VisitorKind.ALL
    )
    hide_from_customers = models.BooleanField(_("hide from logged-in customers"), default=True)
    hide_from_subscribers = models.BooleanField(
        _("hide from known subscribers"),
        default=True,
        help_text=_("Visitors who subscribed through any popup in this browser."),
    )
    min_cart_value = models.DecimalField(
        _("cart value at least"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    max_cart_value = models.DecimalField(
        _("cart value at most"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    cart_contains = models.CharField(
        _("cart contains any of"),
        max_length=500,
        blank=True,
        help_text=_("Product ids or SKUs, separated by commas."),
    )
    referrer_contains = models.CharField(
        _("visit came from (referrer contains)"), max_length=200, blank=True
    )
    utm = models.CharField(
        _("visit came with UTM"),
        max_length=200,
        blank=True,
        help_text=_("e.g. utm_source=instagram; several separated by commas: any one matches."),
        validators=[
            RegexValidator(
                r"^\s*(utm_[a-z]+=[^,=\s]+\s*(,\s*|$))*$",
                _("Write utm_name=value pairs separated by commas, e.g. utm_source=instagram."),
            )
        ],
    )
    countries = models.CharField(
        _("countries"),
        max_length=300,
        blank=True,
        validators=[validate_countries],
        help_text=_(
            "ISO codes separated by commas (e.g. FR, BE). Empty: everywhere. Needs the "
            "COUNTRY_HEADER setting."
        ),
    )

    # --- frequency ----------------------------------------------------------------------
    hide_days_after_close = models.PositiveSmallIntegerField(
        _("after a close, hide for (days)"), default=7
    )

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("popup")
        verbose_name_plural = _("popups")
        ordering = ["-priority", "name"]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if not (self.collect_email or self.collect_phone or self.offer_push):
            errors["collect_email"] = _(
                "Ask for an email, a phone number, or offer push notifications."
            )
        if self.offer_push and not omnichannel_settings.VAPID_PUBLIC_KEY:
            errors["offer_push"] = _(
                'Set OMNICHANNEL["VAPID_PUBLIC_KEY"] before offering push notifications.'
            )
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = _("The end must come after the start.")
        if self.gift in (Gift.PERCENT_CODE, Gift.FIXED_CODE) and self.discount_value is None:
            errors["discount_value"] = _("Enter the discount the code gives.")
        if self.gift == Gift.PERCENT_CODE and (self.discount_value or 0) > 100:
            errors["discount_value"] = _("A percentage cannot be over 100.")
        if (
            self.min_cart_value is not None
            and self.max_cart_value is not None
            and self.max_cart_value < self.min_cart_value
        ):
            errors["max_cart_value"] = _("The maximum is below the minimum.")
        if not self.has_trigger:
            errors["on_exit_intent"] = _("Choose at least one trigger.")
        if errors:
            raise ValidationError(errors)

    @property
    def has_trigger(self):
        return any(
            (
                self.on_exit_intent,
                self.on_scroll_up,
                self.on_tab_return,
                self.on_back_button,
                self.inactivity_seconds,
                self.delay_seconds is not None,
                self.scroll_percent,
                self.click_selector.strip(),
            )
        )

    @property
    def gives_code(self):
        return self.gift in (Gift.PERCENT_CODE, Gift.FIXED_CODE, Gift.FREE_SHIPPING_CODE)

    def is_live(self, now=None):
        """Active and inside its schedule window."""
        now = now or timezone.now()
        return (
            self.status == PopupStatus.ACTIVE
            and (self.starts_at is None or self.starts_at <= now)
            and (self.ends_at is None or now < self.ends_at)
        )

    @property
    def source(self):
        """The ``source`` recorded on contacts and consents it brings in."""
        return f"popup:{self.slug}"


class PopupVariant(models.Model):
    """One version of a popup's content and look: a language, an A/B arm, or both."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    popup = models.ForeignKey(Popup, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(_("name"), max_length=50, default="A")
    locale = models.CharField(
        _("language"),
        max_length=35,
        blank=True,
        help_text=_(
            'e.g. "fr". Empty: for every language without a variant of its own. Visitors see '
            "the variants in their language; the weights split the traffic between them."
        ),
        validators=[RegexValidator(r"^[a-zA-Z]{2,3}([-_][a-zA-Z0-9]+)*$", _("e.g. fr or pt-br"))],
    )
    weight = models.PositiveSmallIntegerField(
        _("weight"), default=1, help_text=_("Share of the traffic; 0 pauses the variant.")
    )

    headline = models.CharField(_("headline"), max_length=120)
    text = models.TextField(_("text"), blank=True)
    image_url = models.URLField(_("image URL"), blank=True)
    image_alt = models.CharField(
        _("image description"),
        max_length=200,
        blank=True,
        help_text=_("For screen readers; leave empty for a decorative image."),
    )
    button_label = models.CharField(_("button"), max_length=60, default=_("Subscribe"))
    email_consent_text = models.CharField(
        _("email consent"),
        max_length=500,
        blank=True,
        help_text=_("The checkbox wording, stored word for word in the consent ledger."),
    )
    sms_consent_text = models.CharField(
        _("SMS consent"),
        max_length=500,
        blank=True,
        help_text=_("The checkbox wording, stored word for word in the consent ledger."),
    )
    push_button_label = models.CharField(
        _("push button"), max_length=60, blank=True, default=_("Get notifications")
    )
    success_headline = models.CharField(_("success headline"), max_length=120)
    success_text = models.TextField(
        _("success text"), blank=True, help_text=_("Shown with the gift after subscribing.")
    )
    confirm_text = models.TextField(
        _("double opt-in text"),
        blank=True,
        default=_("Check your inbox: click the link we sent you to confirm and get your gift."),
        help_text=_("Shown after subscribing when a confirmation link was mailed."),
    )

    position = models.CharField(
        _("position"), max_length=8, choices=Position.choices, default=Position.MODAL
    )
    background_colour = models.CharField(
        _("background"), max_length=7, default="#ffffff", validators=[colour_validator]
    )
    text_colour = models.CharField(
        _("text colour"), max_length=7, default="#1f2328", validators=[colour_validator]
    )
    accent_colour = models.CharField(
        _("button colour"), max_length=7, default="#1f6f5c", validators=[colour_validator]
    )

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        ordering = ["popup", "locale", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["popup", "locale", "name"], name="omnichannel_popupvariant_uniq"
            )
        ]

    def __str__(self):
        return f"{self.popup} / {self.name}" + (f" ({self.locale})" if self.locale else "")

    @property
    def language(self):
        """``locale`` as visitors' languages are matched against it: "pt_BR" -> "pt-br"."""
        return self.locale.lower().replace("_", "-")

    def consent_text(self, channel):
        """The wording shown beside ``channel``'s checkbox, or '' when it has none."""
        return {Channel.EMAIL: self.email_consent_text, Channel.SMS: self.sms_consent_text}.get(
            channel, ""
        )


class PopupEventKind(models.TextChoices):
    IMPRESSION = "impression", _("Shown")
    CLOSE = "close", _("Closed")
    SUBMIT = "submit", _("Subscribed")


class PopupEvent(models.Model):
    """One impression, close or subscription: the figures of each variant are counts of these.

    Appended, never updated, so a busy popup causes no row contention.
    """

    popup = models.ForeignKey(Popup, on_delete=models.CASCADE, related_name="events")
    variant = models.ForeignKey(PopupVariant, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=16, choices=PopupEventKind.choices)
    contact = models.ForeignKey(
        "omnichannel.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="popup_events",
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("popup event")
        verbose_name_plural = _("popup events")
        indexes = [
            models.Index(fields=["popup", "variant", "kind"]),
            models.Index(fields=["contact", "created_at"], name="omnichannel_popupevt_timeline"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.variant}"


class PopupSignup(models.Model):
    """A contact subscribed through a popup: one row per contact and popup.

    It carries the gift (so a second submission shows the same code), and, under double
    opt-in, the tokens of the consents its confirmation link confirms. ``completed_at`` is
    set once, when the subscription is complete: that is when ``popup_subscribed`` is sent.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    popup = models.ForeignKey(Popup, on_delete=models.CASCADE, related_name="signups")
    variant = models.ForeignKey(
        PopupVariant, null=True, on_delete=models.SET_NULL, related_name="signups"
    )
    contact = models.ForeignKey(
        "omnichannel.Contact", on_delete=models.CASCADE, related_name="popup_signups"
    )
    double_opt_in = models.BooleanField(_("double opt-in"), default=False)
    consent_tokens = models.JSONField(default=list, blank=True, editable=False)
    discount_code = models.CharField(_("discount code"), max_length=64, blank=True)
    code_expires_at = models.DateTimeField(_("code expires"), null=True, blank=True)
    created_at = models.DateTimeField(_("subscribed"), auto_now_add=True)
    completed_at = models.DateTimeField(_("complete"), null=True, blank=True)

    class Meta:
        verbose_name = _("popup signup")
        verbose_name_plural = _("popup signups")
        constraints = [
            models.UniqueConstraint(fields=["popup", "contact"], name="omnichannel_signup_uniq")
        ]

    def __str__(self):
        return f"{self.contact} via {self.popup}"

    @classmethod
    def merge_contact_rows(cls, survivor, other):
        """On a contact merge, keep the survivor's signup where both have one."""
        mine = set(cls.objects.filter(contact=survivor).values_list("popup_id", flat=True))
        cls.objects.filter(contact=other, popup_id__in=mine).delete()
        cls.objects.filter(contact=other).update(contact=survivor)


class PopupFormUse(models.Model):
    """A popup form token that was sent, and the signup it was spent on.

    A token is handed out with each impression; one that came back for a signup cannot
    come back for another, so a token copied to many fresh clients earns one gift, not
    one per client. The token itself is not kept, only its SHA-256. Rows older than
    ``POPUP_FORM_MAX_AGE`` are for tokens that have expired anyway, and are deleted.
    """

    token_digest = models.CharField(max_length=64, primary_key=True)
    # Kept when the signup goes (a merge, an erasure): the token stays spent.
    signup = models.ForeignKey(
        PopupSignup, null=True, on_delete=models.SET_NULL, related_name="form_uses"
    )
    used_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("popup form sent")
        verbose_name_plural = _("popup forms sent")

    def __str__(self):
        return self.token_digest[:12]
