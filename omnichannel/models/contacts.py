"""The contact: one row per customer, whichever channel or device they came from."""

import uuid
import zoneinfo

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from phonenumbers import timezone as phone_timezones

from ..conf import omnichannel_settings
from ..core.normalize import normalize_email, normalize_phone


class Contact(models.Model):
    """The unified customer profile.

    Identity is carried by three optional keys, each unique: the shop's user, the email and
    the phone number (E.164). ``omnichannel.contacts.identity`` decides when two contacts are one
    person and merges them.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="omnichannel_contact",
        verbose_name=_("shop user"),
    )
    # Stored normalised (see omnichannel.core.normalize) so that a plain unique index holds.
    email = models.EmailField(_("email"), max_length=254, null=True, blank=True, unique=True)
    phone = models.CharField(
        _("phone"),
        max_length=20,
        null=True,
        blank=True,
        unique=True,
        help_text=_("International format, e.g. +33612345678"),
    )
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    locale = models.CharField(_("language"), max_length=35, blank=True)
    country = models.CharField(
        _("country"), max_length=2, blank=True, help_text=_("ISO 3166 code, e.g. FR")
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, help_text=_("IANA name, e.g. Europe/Paris")
    )
    external_ids = models.JSONField(
        _("external ids"),
        default=dict,
        blank=True,
        help_text=_("Ids of this person in other systems, by system name."),
    )
    attributes = models.JSONField(
        _("profile attributes"),
        default=dict,
        blank=True,
        help_text=_("Optional fields collected at signup (birth year, email frequency, ...)."),
    )
    source = models.CharField(
        _("source"), max_length=64, blank=True, help_text=_("Where this contact first came from.")
    )
    signed_up_at = models.DateTimeField(_("signed up"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-created_at"]
        # Downloading everything known about people is more than looking at them.
        permissions = [("export_contact", _("Can export contacts' personal data"))]

    def __str__(self):
        return self.email or self.phone or self.full_name or f"contact {self.uuid}"

    def save(self, *args, **kwargs):
        # Empty strings would collide under the unique indexes; NULL never does.
        self.email = normalize_email(self.email)
        self.phone = self.phone or None
        super().save(*args, **kwargs)

    def clean(self):
        self.email = normalize_email(self.email)
        try:
            self.phone = normalize_phone(self.phone, region=self.country or None)
        except ValidationError as exc:
            raise ValidationError({"phone": exc.messages}) from exc

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def phone_region(self):
        """The ISO country of the phone number, or ''."""
        if not self.phone:
            return ""
        try:
            return phonenumbers.region_code_for_number(phonenumbers.parse(self.phone)) or ""
        except phonenumbers.NumberParseException:
            return ""

    def get_time_zone(self):
        """The zone to evaluate send windows in: profile, then phone country, then shop."""
        for name in (self.time_zone, self._time_zone_from_phone()):
            if name:
                try:
                    return zoneinfo.ZoneInfo(name)
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    continue
        return zoneinfo.ZoneInfo(omnichannel_settings.DEFAULT_TIME_ZONE or settings.TIME_ZONE)

    def _time_zone_from_phone(self):
        # A country spanning several zones (US, RU, ...) gives no single answer: skip it.
        if not self.phone:
            return ""
        try:
            zones = phone_timezones.time_zones_for_number(phonenumbers.parse(self.phone))
        except phonenumbers.NumberParseException:
            return ""
        return zones[0] if len(zones) == 1 and zones[0] != "Etc/Unknown" else ""
