"""Signed, expiring tokens, each with a salt of its own so one never passes for another.

* The **form token** is handed out when a popup is shown (the impression) and must come
  back with the form: it ties the form to the variant shown and tells how long the visitor
  took, so a form filled in faster than a person types is refused.
* The **confirmation token** is the double opt-in link: it carries the signup's UUID
  (never a sequential id) and expires after ``DOUBLE_OPT_IN_MAX_AGE``.
"""

import time

from django.core import signing

from ..conf import omnichannel_settings
from ..models import PopupSignup

FORM_SALT = "omnichannel.popups.form"
CONFIRMATION_SALT = "omnichannel.popups.confirmation"


def form_token(variant):
    return signing.TimestampSigner(salt=FORM_SALT).sign_object(
        {"variant": str(variant.uuid), "shown_at": time.time()}
    )


def seconds_since_shown(token, variant):
    """How long ago the form of ``variant`` was shown.

    Raises ``signing.SignatureExpired`` past ``POPUP_FORM_MAX_AGE`` and
    ``signing.BadSignature`` for a token that is forged or belongs to another variant.
    """
    payload = signing.TimestampSigner(salt=FORM_SALT).unsign_object(
        token, max_age=omnichannel_settings.POPUP_FORM_MAX_AGE
    )
    if not isinstance(payload, dict) or payload.get("variant") != str(variant.uuid):
        raise signing.BadSignature("The form token belongs to another popup.")
    return time.time() - float(payload.get("shown_at", 0))


def confirmation_token(signup):
    return signing.TimestampSigner(salt=CONFIRMATION_SALT).sign(str(signup.uuid))


def signup_from_confirmation_token(token):
    """The ``PopupSignup`` a confirmation link is for, or None if forged, expired or gone."""
    try:
        signup_uuid = signing.TimestampSigner(salt=CONFIRMATION_SALT).unsign(
            token, max_age=omnichannel_settings.DOUBLE_OPT_IN_MAX_AGE
        )
        return (
            PopupSignup.objects.select_related("popup", "variant", "contact")
            .filter(uuid=signup_uuid)
            .first()
        )
    except (signing.BadSignature, ValueError):
        return None
