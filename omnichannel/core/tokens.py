"""Every signed token the app hands out, in one table: its salt and how long it is good.

Tokens are signed with ``TimestampSigner`` over UUIDs, never sequential ids, so a link
reveals nothing and cannot be forged or pointed at someone else. Each purpose has a salt of
its own, so a token made for one purpose never passes for another; a lifetime that names a
setting is read when the token is checked, so changing the setting applies at once.
"""

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.core import signing

from ..conf import omnichannel_settings

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Token:
    """One purpose: its ``salt``, and a fixed ``max_age`` or the ``setting`` holding it (in
    ``unit``s)."""

    salt: str
    max_age: timedelta | None = None
    setting: str = ""
    unit: timedelta = SECOND

    @property
    def lifetime(self):
        if self.setting:
            return getattr(omnichannel_settings, self.setting) * self.unit
        return self.max_age

    @property
    def signer(self):
        return signing.TimestampSigner(salt=self.salt)


# --- the table ---------------------------------------------------------------------------

#: The one-click unsubscribe link and the preference centre (every message's footer).
UNSUBSCRIBE = Token("omnichannel.unsubscribe", setting="UNSUBSCRIBE_LINK_MAX_AGE_DAYS", unit=DAY)
#: The link that brings an abandoned cart back.
CART_RESTORE = Token("omnichannel.cart-restore", setting="CART_RESTORE_LINK_MAX_AGE_DAYS", unit=DAY)
#: A tracked link in a flow message: clicked months later (a saved offer, a mailbox search).
LINK_CLICK = Token("omnichannel.link-click", max_age=timedelta(days=400))
#: A web push notification's click: it can wait in the tray for days.
PUSH_CLICK = Token("omnichannel.push-click", max_age=timedelta(days=30))
#: A popup's form, handed out when it is shown: ties the form to the variant shown.
POPUP_FORM = Token("omnichannel.popups.form", setting="POPUP_FORM_MAX_AGE")
#: The double opt-in link of a popup signup.
POPUP_CONFIRMATION = Token("omnichannel.popups.confirmation", setting="DOUBLE_OPT_IN_MAX_AGE")

TOKENS = (UNSUBSCRIBE, CART_RESTORE, LINK_CLICK, PUSH_CLICK, POPUP_FORM, POPUP_CONFIRMATION)


# --- unsubscribe and preferences ---------------------------------------------------------


def unsubscribe_token(contact, channel):
    return UNSUBSCRIBE.signer.sign_object({"c": contact.uuid.hex, "ch": channel}, compress=True)


def read_unsubscribe_token(token):
    """``(contact_uuid_hex, channel)`` from a token; raises ``signing.BadSignature``."""
    data = UNSUBSCRIBE.signer.unsign_object(token, max_age=UNSUBSCRIBE.lifetime)
    return data["c"], data["ch"]


# --- cart restore ------------------------------------------------------------------------


def restore_token(cart, message_uuid=None):
    """The token of a cart restore link: the cart's UUID and the UUID of the message that
    carried it."""
    payload = {"c": cart.uuid.hex, "m": message_uuid.hex if message_uuid is not None else ""}
    return CART_RESTORE.signer.sign_object(payload, compress=True)


def read_restore_token(token):
    """``(cart_uuid_hex, message_uuid_hex)``; raises ``signing.BadSignature`` (expired too)."""
    data = CART_RESTORE.signer.unsign_object(token, max_age=CART_RESTORE.lifetime)
    return data["c"], data["m"]


# --- link clicks -------------------------------------------------------------------------


def click_token(message, url):
    return LINK_CLICK.signer.sign_object([message.uuid.hex, url], compress=True)


def read_click_token(token):
    """``(message_uuid_hex, target_url)``; raises ``signing.BadSignature`` (expired too),
    or ``ValueError`` / ``TypeError`` for a payload of the wrong shape."""
    message_hex, url = LINK_CLICK.signer.unsign_object(token, max_age=LINK_CLICK.lifetime)
    return str(message_hex), str(url)


# --- push clicks -------------------------------------------------------------------------


def push_click_token(message):
    """The token a notification carries so that its click can be recorded."""
    return PUSH_CLICK.signer.sign(message.uuid.hex)


def read_push_click_token(token):
    """The clicked message's UUID (hex); raises ``signing.BadSignature`` (expired too)."""
    return PUSH_CLICK.signer.unsign(token, max_age=PUSH_CLICK.lifetime)


# --- popups ------------------------------------------------------------------------------


def form_token(variant):
    """Handed out when a popup is shown; it comes back with the form and tells how long
    the visitor took, so a form filled in faster than a person types is refused."""
    # The nonce keeps two impressions of a variant in the same instant apart: each token is
    # spent once (omnichannel.popups.form_uses).
    return POPUP_FORM.signer.sign_object(
        {"variant": str(variant.uuid), "shown_at": time.time(), "nonce": secrets.token_hex(8)}
    )


def seconds_since_shown(token, variant):
    """How long ago the form of ``variant`` was shown.

    Raises ``signing.SignatureExpired`` past ``POPUP_FORM_MAX_AGE`` and
    ``signing.BadSignature`` for a token that is forged or belongs to another variant.
    """
    payload = POPUP_FORM.signer.unsign_object(token, max_age=POPUP_FORM.lifetime)
    if not isinstance(payload, dict) or payload.get("variant") != str(variant.uuid):
        raise signing.BadSignature("The form token belongs to another popup.")
    return time.time() - float(payload.get("shown_at", 0))


def confirmation_token(signup):
    return POPUP_CONFIRMATION.signer.sign(str(signup.uuid))


def read_confirmation_token(token):
    """The UUID of the signup a double opt-in link confirms; raises ``signing.BadSignature``
    (expired too)."""
    return POPUP_CONFIRMATION.signer.unsign(token, max_age=POPUP_CONFIRMATION.lifetime)
