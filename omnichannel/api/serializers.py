"""Validation of what the popup script sends; every refusal says what to change."""

import re

from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..conf import omnichannel_settings
from ..core.normalize import clean_email, normalize_phone
from ..core.request_meta import header_country
from ..core.tokens import seconds_since_shown
from ..models import Contact, PopupVariant
from ..models.browsing import ProductAlertKind
from ..models.channels import Channel
from ..models.popups import PROFILE_FIELD_NAMES
from ..popups.markup import consent_options
from .fields import PublicIdField, column_length
from .push import PushSubscriptionSerializer

COUNTRY_CODE = re.compile(r"^[A-Za-z]{2}$")


class PopupVariantField(serializers.Serializer):
    """``popup`` and ``variant`` (UUIDs); validates to the live ``PopupVariant``."""

    popup = PublicIdField()
    variant = PublicIdField()

    def validate(self, attrs):
        variant = (
            PopupVariant.objects.select_related("popup")
            .filter(uuid=attrs["variant"], popup__uuid=attrs["popup"])
            .first()
        )
        if variant is None or not variant.popup.is_live():
            raise serializers.ValidationError(
                _("This popup is no longer available. Reload the page."), code="unavailable"
            )
        return {**attrs, "variant": variant}


class EventSerializer(PopupVariantField):
    kind = serializers.ChoiceField(choices=["impression", "close"])


class EventResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it back with the form, as `token`.")


class SubscribeSerializer(PopupVariantField):
    token = serializers.CharField(
        max_length=500, help_text="The token the impression event returned."
    )
    email = serializers.CharField(
        max_length=column_length(Contact, "email"), required=False, allow_blank=True
    )
    phone = serializers.CharField(
        max_length=column_length(Contact, "phone"), required=False, allow_blank=True
    )
    consents = serializers.ListField(
        child=serializers.ChoiceField(choices=Channel.choices),
        max_length=len(Channel.choices),
        required=False,
        default=list,
        help_text="The channels whose checkbox was ticked.",
    )
    extra = serializers.DictField(
        # Other names than the profile's land in a JSON column: this is the app's limit.
        child=serializers.CharField(max_length=200, allow_blank=True),
        required=False,
        default=dict,
        help_text="The popup's extra fields, by name; first_name, last_name and country "
        "no longer than the contact's columns.",
    )
    website = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="The honeypot: people leave it empty.",
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        variant = attrs["variant"]
        popup = variant.popup
        if attrs.get("website"):
            raise serializers.ValidationError(
                _("This form was not sent by a person."), code="honeypot"
            )
        self._check_token(attrs["token"], variant)
        profile, attributes = self._extra_fields(popup, attrs["extra"])
        country = profile.get("country") or header_country(self.context.get("request"))
        email, phone = self._addresses(popup, attrs, country)
        consents = self._consents(popup, variant, attrs["consents"], email, phone)
        return {
            "variant": variant,
            "token": attrs["token"],
            "email": email,
            "phone": phone,
            "consents": consents,
            "profile": profile,
            "attributes": attributes,
        }

    def _check_token(self, token, variant):
        try:
            elapsed = seconds_since_shown(token, variant)
        except signing.SignatureExpired:
            raise serializers.ValidationError(
                _("This form has expired. Reload the page and try again."), code="expired"
            ) from None
        except (signing.BadSignature, ValueError, TypeError):
            raise serializers.ValidationError(
                _("This form is not valid any more. Reload the page and try again."),
                code="bad_token",
            ) from None
        if elapsed < omnichannel_settings.POPUP_MIN_SUBMIT_SECONDS:
            raise serializers.ValidationError(
                _("That was quick! Check your details and send the form again."),
                code="too_fast",
            )

    def _addresses(self, popup, attrs, country):
        errors, email, phone = {}, None, None
        raw_email, raw_phone = attrs.get("email", "").strip(), attrs.get("phone", "").strip()
        if raw_email and not popup.collect_email:
            errors["email"] = [_("This popup does not ask for an email address.")]
        elif popup.collect_email and not raw_email:
            errors["email"] = [_("Enter your email address.")]
        elif raw_email:
            try:
                email = clean_email(raw_email)
            except DjangoValidationError:
                errors["email"] = [_("Enter a valid email address, e.g. name@example.com.")]
        if raw_phone and not popup.collect_phone:
            errors["phone"] = [_("This popup does not ask for a phone number.")]
        elif popup.collect_phone and not popup.collect_email and not raw_phone:
            errors["phone"] = [_("Enter your phone number.")]
        elif raw_phone:
            try:
                phone = normalize_phone(raw_phone, region=country or None)
            except DjangoValidationError as exc:
                errors["phone"] = exc.messages
        if errors:
            raise serializers.ValidationError(errors)
        return email, phone

    def _consents(self, popup, variant, ticked, email, phone):
        offered = {channel for channel, _wording in consent_options(popup, variant)}
        ticked = list(dict.fromkeys(ticked))  # the order they came in, without repeats
        if set(ticked) - offered:
            raise serializers.ValidationError(
                {"consents": [_("This popup does not offer that choice. Reload the page.")]}
            )
        if offered and not ticked:
            raise serializers.ValidationError(
                {"consents": [_("Tick a box to choose how we may contact you.")]}
            )
        address = {Channel.EMAIL: email, Channel.SMS: phone}
        missing = [channel for channel in ticked if not address.get(channel)]
        if missing:
            field = "phone" if Channel.SMS in missing else "email"
            message = {
                "phone": _("Enter your phone number to get text messages."),
                "email": _("Enter your email address to get emails."),
            }[field]
            raise serializers.ValidationError({field: [message]})
        return ticked

    def _extra_fields(self, popup, values):
        """(profile, attributes) from the popup's extra fields; errors by field name."""
        specs = {spec["name"]: spec for spec in popup.extra_fields or []}
        errors, profile, attributes = {}, {}, {}
        for name in set(values) - set(specs):
            errors[name] = [_("This popup has no such field.")]
        for name, spec in specs.items():
            value = values.get(name, "").strip()
            kind = spec.get("type", "text")
            if not value:
                if spec.get("required"):
                    errors[name] = [_("This field is required.")]
                continue
            if kind == "number":
                if not re.fullmatch(r"-?\d{1,9}", value):
                    errors[name] = [_("Enter a whole number.")]
                    continue
                value = int(value)
            elif kind == "select" and value not in spec.get("choices", []):
                errors[name] = [_("Choose one of the options.")]
                continue
            if name == "country":
                if not COUNTRY_CODE.match(str(value)):
                    errors[name] = [_("Enter a two-letter country code, e.g. FR.")]
                    continue
                value = value.upper()
            if name in PROFILE_FIELD_NAMES and len(str(value)) > column_length(Contact, name):
                errors[name] = [
                    _("Ensure this field has no more than %(limit)d characters.")
                    % {"limit": column_length(Contact, name)}
                ]
                continue
            (profile if name in PROFILE_FIELD_NAMES else attributes)[name] = value
        if errors:
            raise serializers.ValidationError({"extra": errors})
        return profile, attributes


class GiftSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="percent, fixed, free_shipping or message")
    code = serializers.CharField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)


class SubscribeResponseSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["subscribed", "confirm"],
        help_text="confirm: a double opt-in link was mailed; the gift comes with it.",
    )
    gift = GiftSerializer(allow_null=True)


class PushSubscribeSerializer(PopupVariantField):
    subscription = PushSubscriptionSerializer()


class PushResponseSerializer(serializers.Serializer):
    status = serializers.CharField()


class NotifyMeSerializer(serializers.Serializer):
    """The "notify me" form of a product page."""

    email = serializers.CharField(max_length=column_length(Contact, "email"))
    product_id = serializers.CharField(
        max_length=64, help_text="The shop's id of the product, as track_product_view gets it."
    )
    kind = serializers.ChoiceField(
        choices=ProductAlertKind.choices,
        default=ProductAlertKind.BACK_IN_STOCK,
        help_text="What to be told about.",
    )
    website = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="The honeypot: people leave it empty.",
    )

    def validate_email(self, value):
        try:
            return clean_email(value)
        except DjangoValidationError:
            raise serializers.ValidationError(
                _("Enter a valid email address, e.g. name@example.com."), code="invalid"
            ) from None

    def validate(self, attrs):
        if attrs.get("website"):
            raise serializers.ValidationError(
                _("This form was not sent by a person."), code="honeypot"
            )
        return attrs


class NotifyMeResponseSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["requested"])
