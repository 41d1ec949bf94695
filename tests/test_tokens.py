"""The table of signed tokens: a salt per purpose, lifetimes read when a token is checked."""

import time
import uuid
from types import SimpleNamespace

import pytest
from django.core import signing

from omnichannel.core import tokens

# One token of each purpose, over the same UUID, and the reader of each purpose.
THING = SimpleNamespace(uuid=uuid.UUID("5a0c6bd2-4b8e-4d8e-9a53-7c1d3c2f9e10"))
MADE = {
    tokens.UNSUBSCRIBE: lambda: tokens.unsubscribe_token(THING, "email"),
    tokens.CART_RESTORE: lambda: tokens.restore_token(THING),
    tokens.LINK_CLICK: lambda: tokens.click_token(THING, "https://shop.example.com/"),
    tokens.PUSH_CLICK: lambda: tokens.push_click_token(THING),
    tokens.POPUP_FORM: lambda: tokens.form_token(THING),
    tokens.POPUP_CONFIRMATION: lambda: tokens.confirmation_token(THING),
}
READ = {
    tokens.UNSUBSCRIBE: tokens.read_unsubscribe_token,
    tokens.CART_RESTORE: tokens.read_restore_token,
    tokens.LINK_CLICK: tokens.read_click_token,
    tokens.PUSH_CLICK: tokens.read_push_click_token,
    tokens.POPUP_FORM: lambda token: tokens.seconds_since_shown(token, THING),
    tokens.POPUP_CONFIRMATION: tokens.read_confirmation_token,
}


def test_every_purpose_has_a_salt_of_its_own():
    salts = [token.salt for token in tokens.TOKENS]
    assert len(set(salts)) == len(salts) == len(MADE)


@pytest.mark.parametrize("made_for", tokens.TOKENS, ids=lambda token: token.salt)
def test_a_token_passes_only_for_its_own_purpose(made_for):
    token = MADE[made_for]()
    READ[made_for](token)  # its own reader takes it
    for purpose, read in READ.items():
        if purpose is not made_for:
            with pytest.raises(signing.BadSignature):
                read(token)


def test_a_lifetime_from_the_settings_is_read_when_the_token_is_checked(settings, monkeypatch):
    token = tokens.unsubscribe_token(THING, "email")
    made_at = signing.b62_decode(token.rsplit(":", 2)[1])
    monkeypatch.setattr(time, "time", lambda: made_at + 3 * 86400)  # three days later
    assert tokens.read_unsubscribe_token(token) == (THING.uuid.hex, "email")
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "UNSUBSCRIBE_LINK_MAX_AGE_DAYS": 2}
    with pytest.raises(signing.SignatureExpired):
        tokens.read_unsubscribe_token(token)
