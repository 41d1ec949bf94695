"""The preference centre: which channels, how often. Reached from every message."""

from django import forms
from django.db import transaction
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from ..channels import enabled_channels
from ..consent import grant_consent
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


class PreferencesForm(forms.Form):
    frequency = forms.ChoiceField(choices=FREQUENCIES, widget=forms.RadioSelect, required=False)

    def __init__(self, *args, channels, **kwargs):
        super().__init__(*args, **kwargs)
        for channel in channels:
            self.fields[channel] = forms.BooleanField(label=Channel(channel).label, required=False)


def marketing_channels():
    return [c for c in enabled_channels() if c != Channel.INBOX]


@require_http_methods(["GET", "POST"])
def preferences(request, token):
    contact, _channel = contact_from_token(token)
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
    form = PreferencesForm(request.POST or None, channels=channels, initial=initial)
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
            contact.save(update_fields=["attributes", "updated_at"])
        saved = True
    return render(
        request,
        "omnichannel/preferences.html",
        {"form": form, "contact": contact, "saved": saved, "token": token},
    )
