"""The preference centre: which channels, how often, in which language.

Reached from every message and, through ``{% omnichannel_preferences %}``, from the shop's
account page.

A link proves only that its reader gets messages on the channel it came by (the token's
channel; the account page's link counts as email). So it may turn that channel on and
any channel off, but it never grants another one: the preference link in every email
lasts 400 days, is forwarded, and would otherwise turn an SMS consent the person had
withdrawn back on. Another channel is turned on where its own consent is given (a START
text, the browser's notification prompt, an email's link); the page says so.
"""

from django import forms
from django.conf import settings
from django.db import transaction
from django.shortcuts import render
from django.utils.translation import get_language_info, get_supported_language_variant
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from ..channels import enabled_channels
from ..contacts.consent import grant_consent
from ..integrations.adapter import get_adapter
from ..models import Consent
from ..models.channels import Channel
from ..models.consent import ConsentStatus, Purpose
from .tokens import contact_from_token, invalid_link
from .unsubscribe import unsubscribe_contact

FREQUENCIES = [
    ("all", _("Everything: offers and news as they come")),
    ("weekly", _("At most one a week")),
    ("monthly", _("At most one a month")),
]
# The wording stored in the consent ledger when a box is ticked here.
OPT_IN_WORDING = "I want to receive {channel} from {shop} (preference centre)."
# Shown beside a channel this link cannot turn on: where its own consent is given.
OPT_IN_ELSEWHERE = {
    Channel.EMAIL: _("Turned on from the link in one of our emails."),
    Channel.SMS: _("Turned on from your phone: text START to our number."),
    Channel.WHATSAPP: _("Turned on from WhatsApp: send START to our number."),
    Channel.PUSH: _("Turned on in your browser: allow our notifications on our site."),
}


def language_choices():
    """``settings.LANGUAGES``, each named in its own language: a reader looks for
    "Deutsch", not for "German" written in a language they may not read."""
    return [("", _("No preference"))] + [
        (code, local_name(code, name)) for code, name in settings.LANGUAGES
    ]


def local_name(code, name):
    try:
        return get_language_info(code)["name_local"]
    except KeyError:  # a language Django does not describe: the shop's own name for it
        return name


def supported_language(locale):
    """The ``settings.LANGUAGES`` code closest to a contact's locale (fr-FR -> fr), or ''."""
    try:
        return get_supported_language_variant(locale.replace("_", "-").lower())
    except LookupError:
        return ""


class PreferencesForm(forms.Form):
    frequency = forms.ChoiceField(choices=FREQUENCIES, widget=forms.RadioSelect, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=language_choices, required=False)

    def __init__(self, *args, channels, grantable, granted, **kwargs):
        """``grantable``: the channels this link may turn on; any in ``granted`` may go off."""
        super().__init__(*args, **kwargs)
        self.channels = channels
        for channel in channels:
            # A disabled field keeps its initial value whatever is posted.
            locked = channel not in grantable and channel not in granted
            self.fields[channel] = forms.BooleanField(
                label=Channel(channel).label,
                required=False,
                disabled=locked,
                help_text=OPT_IN_ELSEWHERE.get(channel, "") if locked else "",
            )

    def channel_fields(self):
        return [self[channel] for channel in self.channels]


def marketing_channels():
    return [c for c in enabled_channels() if c != Channel.INBOX]


@require_http_methods(["GET", "POST"])
def preferences(request, token):
    contact, link_channel = contact_from_token(token)
    if contact is None:
        return invalid_link(request)
    channels = marketing_channels()
    granted = set(
        Consent.objects.filter(
            contact=contact, purpose=Purpose.MARKETING, status=ConsentStatus.GRANTED
        ).values_list("channel", flat=True)
    )
    initial = {c: c in granted for c in channels}
    initial["frequency"] = contact.attributes.get("email_frequency", "all")
    initial["language"] = supported_language(contact.locale)
    form = PreferencesForm(
        request.POST or None,
        channels=channels,
        grantable={link_channel},
        granted=granted,
        initial=initial,
    )
    saved = False
    shop = get_adapter().get_shop_context().get("name", "us")
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            for channel in channels:
                wanted = form.cleaned_data[channel]
                if wanted and channel not in granted:
                    grant_consent(
                        contact,
                        channel,
                        source="preference centre",
                        wording=OPT_IN_WORDING.format(channel=Channel(channel).label, shop=shop),
                        request=request,
                    )
                elif not wanted and channel in granted:
                    unsubscribe_contact(contact, channel, request, "preference centre")
            frequency = form.cleaned_data["frequency"] or "all"
            contact.attributes = {**contact.attributes, "email_frequency": frequency}
            # Only a changed choice is written: a locale the list shows by its closest
            # language (pt_BR as pt-br, or one outside LANGUAGES) is kept as it is.
            if "language" in form.changed_data:
                contact.locale = form.cleaned_data["language"]
            contact.save(update_fields=["attributes", "locale", "updated_at"])
        saved = True
    return render(
        request,
        "omnichannel/preferences.html",
        {"form": form, "contact": contact, "saved": saved, "token": token},
    )
