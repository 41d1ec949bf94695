"""The shop's look in email, set once in the admin and used by every email built from
blocks: the logo, three colours, a font and the postal address of the footer."""

from django.core.exceptions import ValidationError
from django.core.validators import (
    FileExtensionValidator,
    MaxValueValidator,
    MinValueValidator,
    RegexValidator,
)
from django.db import models
from django.utils.translation import gettext_lazy as _

colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Write the colour as # and six hex digits."))


class Font(models.TextChoices):
    # Fonts every mail client has: a web font is ignored by Outlook and most of Gmail.
    ARIAL = "Arial, Helvetica, sans-serif", "Arial"
    VERDANA = "Verdana, Geneva, sans-serif", "Verdana"
    TREBUCHET = "'Trebuchet MS', Helvetica, sans-serif", "Trebuchet MS"
    GEORGIA = "Georgia, 'Times New Roman', serif", "Georgia"
    TIMES = "'Times New Roman', Times, serif", "Times New Roman"


def no_template_syntax(value):
    # The address is printed as typed: braces would read as a template to the engine.
    if "{" in value or "}" in value:
        raise ValidationError(_("Curly braces cannot be used here."))


class Brand(models.Model):
    """One row (``Brand.load()``): the admin shows it as a single page."""

    logo = models.FileField(
        _("logo"),
        upload_to="omnichannel/brand/",
        blank=True,
        validators=[FileExtensionValidator(["png", "jpg", "jpeg", "gif"])],
        help_text=_("PNG, JPEG or GIF; about twice as wide as it shows, for sharp screens."),
    )
    logo_url = models.URLField(
        _("logo address"),
        blank=True,
        help_text=_("Or the address of a logo already online. Used when no file is uploaded."),
    )
    logo_width = models.PositiveSmallIntegerField(
        _("logo width"),
        default=160,
        validators=[MinValueValidator(40), MaxValueValidator(600)],
        help_text=_("In pixels, as it shows in the email (40 to 600)."),
    )
    primary_color = models.CharField(
        _("main colour"),
        max_length=7,
        default="#2b2118",
        validators=[colour],
        help_text=_("Buttons, links and the discount code."),
    )
    text_color = models.CharField(
        _("text colour"), max_length=7, default="#2b2118", validators=[colour]
    )
    background_color = models.CharField(
        _("background colour"),
        max_length=7,
        default="#f4f1ec",
        validators=[colour],
        help_text=_("Around the white card that holds the email."),
    )
    font = models.CharField(_("font"), max_length=64, choices=Font.choices, default=Font.ARIAL)
    footer_address = models.TextField(
        _("postal address"),
        blank=True,
        validators=[no_template_syntax],
        help_text=_(
            "Printed in the footer of every email, as the law asks of marketing mail. "
            "Empty: the address the shop's integration gives (shop.address)."
        ),
    )

    class Meta:
        verbose_name = _("email brand")
        verbose_name_plural = _("email brand")

    def __str__(self):
        return str(_("Email brand"))

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls):
        """The brand, or the defaults while nobody has saved one (nothing is written)."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)
