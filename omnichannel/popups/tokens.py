"""Signed, expiring tokens, each with a salt of its own so one never passes for another.

* The **form token** is handed out when a popup is shown (the impression) and must come
  back with the form: it ties the form to the variant shown and tells how long the visitor
  took, so a form filled in faster than a person types is refused. It is spent by the
  signup it first comes back with (``spend_form_token``), so one token earns one gift.
* The **confirmation token** is the double opt-in link: it carries the signup's UUID
  (never a sequential id) and expires after ``DOUBLE_OPT_IN_MAX_AGE``.
"""

import hashlib
import secrets
import time
from datetime import timedelta

from django.core import signing
from django.utils import timezone

from ..conf import omnichannel_settings
from ..models import PopupFormUse, PopupSignup

FORM_SALT = "omnichannel.popups.form"
CONFIRMATION_SALT = "omnichannel.popups.confirmation"


# Expired uses deleted per spend: enough to keep up, few enough to stay one quick query.
EXPIRED_USES_PER_SPEND = 100


def form_token(variant):
    # The nonce keeps two impressions of a variant in the same instant apart.
    return signing.TimestampSigner(salt=FORM_SALT).sign_object(
        {"variant": str(variant.uuid), "shown_at": time.time(), "nonce": secrets.token_hex(8)}
    )


def spend_form_token(token, signup):
    """Record that ``token`` came back for ``signup``; False if it was spent on another.

    The same signup may send its form again (a double click, a retry). Call it inside the
    signup's transaction: a token sent twice at once is spent by the one that commits.
    """
    digest = hashlib.sha256(token.encode()).hexdigest()
    use, created = PopupFormUse.objects.get_or_create(
        token_digest=digest, defaults={"signup": signup}
    )
    _delete_expired_uses()
    return created or use.signup_id == signup.pk


def _delete_expired_uses():
    """Forget uses of tokens that have expired since, a few at a time, never waiting on
    another request's rows (``skip_locked``)."""
    cutoff = timezone.now() - timedelta(seconds=omnichannel_settings.POPUP_FORM_MAX_AGE)
    expired = list(
        PopupFormUse.objects.filter(used_at__lt=cutoff)
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)[:EXPIRED_USES_PER_SPEND]
    )
    if expired:
        PopupFormUse.objects.filter(pk__in=expired).delete()


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
