"""Spending a popup's form token: one token earns one subscription, so one gift.

The token itself (``omnichannel.core.tokens.form_token``) is signed and expires; what it was
spent on is kept here, by its hash, until it has expired anyway.
"""

import hashlib
from datetime import timedelta

from django.utils import timezone

from ..conf import omnichannel_settings
from ..models import PopupFormUse

# Expired uses deleted per spend: enough to keep up, few enough to stay one quick query.
EXPIRED_USES_PER_SPEND = 100


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
