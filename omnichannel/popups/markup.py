"""The popup's HTML, rendered from an overridable template with autoescaping.

Pages carry it inside an inert ``<template>`` (nothing in it loads or lays out until the
popup opens); the admin preview renders the very same markup. Staff-authored texts are
escaped like any template variable; a shop restyles or restructures the popup by
overriding ``omnichannel/popups/popup.html``.

The template gets plain values (``popup_context``), never the models: from a ``Popup`` a
template could walk to its signups, their contacts and the shop users behind them.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from ..models.channels import Channel
from ..outbox.rendering import plain

TEMPLATE = "omnichannel/popups/popup.html"
# What the template may read of the popup and of the variant (README: Popups, "For
# integrators").
POPUP_FIELDS = ("name", "slug", "collect_email", "collect_phone", "offer_push", "gift")
VARIANT_FIELDS = (
    "name", "locale", "headline", "text", "image_url", "image_alt", "button_label",
    "email_consent_text", "sms_consent_text", "push_button_label", "success_headline",
    "success_text", "confirm_text", "position", "background_colour", "text_colour",
    "accent_colour",
)  # fmt: skip


def field_label(spec, locale):
    """An extra field's label in ``locale``: its label is a text or {language: text}."""
    label = spec["label"]
    if isinstance(label, str):
        return label
    primary = locale.split("-")[0]
    for key in (locale, primary, ""):
        if label.get(key):
            return label[key]
    return next(iter(label.values()))


def consent_options(popup, variant):
    """(channel, wording) of the checkboxes the variant shows."""
    offered = []
    if popup.collect_email and variant.email_consent_text:
        offered.append((Channel.EMAIL.value, variant.email_consent_text))
    if popup.collect_phone and variant.sms_consent_text:
        offered.append((Channel.SMS.value, variant.sms_consent_text))
    return offered


def render_popup(popup, variant):
    """The markup of ``variant`` of ``popup`` (unsaved instances work: the admin preview)."""
    # A variant for every language is rendered in the shop's default language: the markup
    # is cached, and must not depend on whichever request filled the cache.
    locale = variant.locale or settings.LANGUAGE_CODE
    extra_fields = [
        {**spec, "label": field_label(spec, locale), "type": spec.get("type", "text")}
        for spec in popup.extra_fields or []
    ]
    with translation.override(locale):
        context = {
            **popup_context(popup, variant),
            # DOM ids must be unique per page and stable per variant.
            "dom_id": "oc-" + variant.uuid.hex[:10],
            "extra_fields": plain(extra_fields),
            "consents": plain(consent_options(popup, variant)),
            "phone_required": popup.collect_phone and not popup.collect_email,
        }
        return render_to_string(TEMPLATE, context)


def popup_context(popup, variant):
    """``popup`` and ``variant`` as the templates see them: their fields, plain values
    (lazy default wordings read in the active language)."""
    return {
        "popup": {name: plain(getattr(popup, name)) for name in POPUP_FIELDS},
        "variant": {
            "uuid": str(variant.uuid),
            **{name: plain(getattr(variant, name)) for name in VARIANT_FIELDS},
        },
    }


def render_preview(popup, variant):
    """A whole page showing ``variant`` open over a placeholder page, for the admin."""
    return render_to_string(
        "omnichannel/admin/popup_preview.html",
        {"variant": {"uuid": str(variant.uuid)}, "markup": render_popup(popup, variant)},
    )
