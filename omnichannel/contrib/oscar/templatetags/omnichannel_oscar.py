"""``{% load omnichannel_oscar %}{% omnichannel_consent_box %}``: the marketing consent box
for Oscar's registration and checkout forms. Its wording is what the ledger records."""

from django import template
from django.template.loader import render_to_string

from ..settings import CONSENT_FIELD, consent_wording

register = template.Library()


@register.simple_tag
def omnichannel_consent_box():
    context = {"name": CONSENT_FIELD, "wording": consent_wording()}
    return render_to_string("omnichannel/oscar/consent_box.html", context)
