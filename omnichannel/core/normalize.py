"""One spelling per address, so the same person is found whatever they typed."""

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from ..conf import omnichannel_settings


def normalize_email(value):
    """Trimmed and lower-cased, or None for an empty value.

    Mailbox providers treat local parts case-insensitively in practice; storing one case is
    what lets a unique index find "Ann@Shop.com" and "ann@shop.com" as one contact.
    """
    if not value:
        return None
    return value.strip().lower() or None


def clean_email(value):
    """Normalised email, raising ValidationError with a message a person can act on."""
    email = normalize_email(value)
    if email is None:
        return None
    validate_email(email)
    return email


def normalize_phone(value, region=None):
    """The number in E.164 (``+33612345678``), or None for an empty value.

    ``region`` (ISO country) reads national numbers such as ``06 12 34 56 78``; without it
    the ``DEFAULT_PHONE_REGION`` setting is used, and a number with no ``+`` prefix and no
    region is refused rather than guessed.
    """
    if not value or not str(value).strip():
        return None
    region = region or omnichannel_settings.DEFAULT_PHONE_REGION
    try:
        number = phonenumbers.parse(str(value), region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("Enter the phone number with its country code, for example +33 6 12 34 56 78."),
            code="invalid_phone",
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("%(number)s is not a valid phone number.") % {"number": value}, code="invalid_phone"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
