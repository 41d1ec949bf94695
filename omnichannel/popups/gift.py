"""The gift a popup subscription earns: a unique discount code, or a message.

The code is made by the shop (``ShopAdapter.create_discount_code``) once per contact and
popup and kept on the signup, so a second submission shows the same code rather than
minting another.
"""

import logging
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ..integrations import DiscountSpec, get_adapter
from ..models.popups import Gift

logger = logging.getLogger("omnichannel.popups")


def discount_spec(popup, now=None):
    return DiscountSpec(
        kind=popup.gift,  # Gift's code kinds are DiscountSpec's: percent, fixed, free_shipping
        value=popup.discount_value if popup.discount_value is not None else Decimal("0"),
        expires_at=(now or timezone.now()) + timedelta(days=popup.code_valid_days),
        prefix=popup.code_prefix,
    )


def ensure_code(signup):
    """The signup's discount code, created through the adapter the first time.

    Call it with the signup row locked. A failing adapter is logged and leaves the
    subscription without a code rather than failing it.
    """
    if signup.discount_code:
        return signup.discount_code
    spec = discount_spec(signup.popup)
    try:
        with transaction.atomic():  # a failing adapter must not break our transaction
            code = get_adapter().create_discount_code(signup.contact, spec)
    except Exception:
        logger.exception("omnichannel: the adapter could not create the code of %s", signup)
        return ""
    signup.discount_code, signup.code_expires_at = str(code), spec.expires_at
    signup.save(update_fields=["discount_code", "code_expires_at"])
    return signup.discount_code


def gift_for(signup):
    """The gift as the API returns it, or None when the popup gives none."""
    popup = signup.popup
    if popup.gift == Gift.NONE:
        return None
    if not popup.gives_code:
        return {"kind": popup.gift, "code": None, "expires_at": None}
    code = ensure_code(signup)
    return {
        "kind": popup.gift,
        "code": code or None,
        "expires_at": signup.code_expires_at if code else None,
    }
