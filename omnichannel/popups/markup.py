"""The popup's HTML, rendered from an overridable template with autoescaping.

Pages carry it inside an inert ``<template>`` (nothing in it loads or lays out until the
popup opens); the admin preview renders the very same markup. Staff-authored texts are
escaped like any template variable; a shop restyles or restructures the popup by
overriding ``omnichannel/popups/popup.html``.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from ..models.channels import Channel

TEMPLATE = "omnichannel/popups/popup.html"


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
    context = {
        "popup": popup,
        "variant": variant,
        # DOM ids must be unique per page and stable per variant.
        "dom_id": "oc-" + variant.uuid.hex[:10],
        "extra_fields": extra_fields,
        "consents": consent_options(popup, variant),
        "phone_required": popup.collect_phone and not popup.collect_email,
    }
    with translation.override(locale):
        return render_to_string(TEMPLATE, context)


def render_preview(popup, variant):
    """A whole page showing ``variant`` open over a placeholder page, for the admin."""
    return render_to_string(
        "omnichannel/admin/popup_preview.html",
        {"variant": variant, "markup": render_popup(popup, variant)},
    )
