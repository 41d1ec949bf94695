"""Optional profile fields for the shop's own signup form.

Every extra field costs signups, so a shop asks only for what its campaigns use: it names
those fields in ``OMNICHANNEL["SIGNUP_PROFILE_FIELDS"]`` and mixes ``ProfileFieldsMixin``
into its signup form. The answers land on the contact: country and phone on the profile
(country drives channel preferences, send windows and ``country_in`` conditions; the phone
makes SMS possible once consented), birth year and email frequency as profile attributes
(``contact.attributes`` in message templates).

    class SignupForm(ProfileFieldsMixin, UserCreationForm):
        country_choices = [("FR", "France"), ("BE", "Belgium")]   # optional

    # in the view, once the user is saved:
    form.save_profile(request, user)
"""

import datetime

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .conf import omnichannel_settings
from .core.normalize import normalize_phone
from .integrations import identify
from .views.preferences import FREQUENCIES

# Stored in ``contact.attributes`` rather than on the contact's own columns.
ATTRIBUTE_FIELDS = ("birth_year", "email_frequency")


def profile_field_names():
    """The fields the shop chose (``omnichannel.conf`` refuses names this mixin lacks)."""
    return list(omnichannel_settings.SIGNUP_PROFILE_FIELDS)


class ProfileFieldsMixin:
    """Adds the chosen optional profile fields to a form and saves them on the contact.

    Override ``country_choices`` with the countries you ship to for a drop-down (default:
    a two-letter ISO code), and the birth year bounds to suit your audience.
    """

    country_choices = None
    birth_year_min_age = 13
    birth_year_max_age = 110

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in profile_field_names():
            self.fields[name] = getattr(self, f"{name}_field")()

    # --- the fields (override one to change its label or widget) -------------------------

    def country_field(self):
        if self.country_choices:
            return forms.ChoiceField(
                label=_("Country"),
                choices=[("", "---------"), *self.country_choices],
                required=False,
            )
        return forms.CharField(
            label=_("Country"),
            max_length=2,
            required=False,
            help_text=_("Two-letter code, e.g. FR."),
        )

    def birth_year_field(self):
        this_year = datetime.date.today().year
        return forms.IntegerField(
            label=_("Birth year"),
            required=False,
            min_value=this_year - self.birth_year_max_age,
            max_value=this_year - self.birth_year_min_age,
            error_messages={
                "min_value": _("Enter a year after %(limit_value)s."),
                "max_value": _("Enter a year up to %(limit_value)s."),
            },
        )

    def phone_field(self):
        return forms.CharField(
            label=_("Mobile phone"),
            max_length=32,
            required=False,
            help_text=_("E.g. +33 6 12 34 56 78; without the +33 if you chose your country."),
        )

    def email_frequency_field(self):
        return forms.ChoiceField(
            label=_("How often may we email you?"),
            choices=FREQUENCIES,
            initial="all",
            required=False,
            widget=forms.RadioSelect,
        )

    # --- validation ------------------------------------------------------------------------

    def clean_country(self):
        country = (self.cleaned_data.get("country") or "").strip().upper()
        if country and country not in phonenumbers.SUPPORTED_REGIONS:
            raise ValidationError(_("Enter a two-letter country code, e.g. FR."))
        return country

    def clean(self):
        cleaned = super().clean()
        if "phone" in self.fields and cleaned.get("phone"):
            # A national number ("06 12 34 56 78") is read in the country just chosen.
            try:
                cleaned["phone"] = normalize_phone(
                    cleaned["phone"], region=cleaned.get("country") or None
                )
            except ValidationError as exc:
                self.add_error("phone", exc)
        return cleaned

    # --- saving ----------------------------------------------------------------------------

    def save_profile(self, request, user):
        """Put the answers on ``user``'s contact; returns it (None if the app failed).

        Never raises into the signup (``identify`` logs its failures), and never
        overwrites what the contact already has.
        """
        data = self.cleaned_data
        attributes = {
            name: data[name] for name in ATTRIBUTE_FIELDS if data.get(name) not in (None, "")
        }
        contact = identify(
            request,
            user=user,
            email=getattr(user, "email", None) or None,
            country=data.get("country") or "",
            source="signup",
            attributes=attributes or None,
        )
        if contact is not None and data.get("phone"):
            # Only once the user's own contact exists: a number that already belongs to
            # another account must not make this signup that other person's contact.
            contact = identify(request, user=user, phone=data["phone"]) or contact
        return contact
