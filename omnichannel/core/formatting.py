"""Amounts of money and stored dates, written for the reader.

The filters of ``{% load omnichannel_format %}``, and what the admin and the timeline
write amounts with.

``{{ amount|money:currency }}`` writes an amount with two decimals, the active language's
decimal and thousands separators (Django's locale formats) and the currency's symbol
where that language puts it::

    language   EUR        USD        GBP        BGN           RUB        CZK         CHF
    en         €1,234.50  $1,234.50  £1,234.50  1,234.50 лв.  ₽1,234.50  1,234.50 Kč  CHF 1,234.50
    fr, ru,    1 234,50 € 1 234,50 $ 1 234,50 £ 1234,50 лв.   1 234,50 ₽ 1 234,50 Kč  1 234,50 CHF
    bg, sk...

English puts a symbol before the amount, except "лв." and "Kč", which always follow it;
every other language puts the symbol after the amount, with a non-breaking space. A
currency without a symbol in ``CURRENCY_SYMBOLS`` (CHF above) is written as its ISO code.
The currency defaults to ``OMNICHANNEL["DEFAULT_CURRENCY"]``; an amount that is not a
number is written as it is, and None or "" as nothing.

``{{ value|isodate }}`` turns an ISO 8601 string (how a message's context stores dates,
such as ``discount.expires_at``) into a datetime, for Django's ``date`` filter:
``{{ discount.expires_at|isodate|date:"DATE_FORMAT" }}``.

Message templates written in the admin have both filters without a ``{% load %}`` (see
``omnichannel.outbox.rendering``), and render in the recipient's language.
"""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import formats, translation
from django.utils.dateparse import parse_date, parse_datetime

from ..conf import omnichannel_settings

#: Symbols of the currencies the app knows; any other currency is written as its code.
CURRENCY_SYMBOLS = {
    "EUR": "€",
    "USD": "$",
    "GBP": "£",
    "BGN": "лв.",
    "RUB": "₽",
    "CZK": "Kč",
}
#: Symbols written after the amount in every language.
SYMBOLS_AFTER = {"BGN", "CZK"}
#: Languages that write a currency symbol before the amount (en: "€12.50").
SYMBOL_FIRST_LANGUAGES = {"en"}

CENTS = Decimal("0.01")
NBSP = "\N{NO-BREAK SPACE}"


def _decimal(amount):
    if isinstance(amount, Decimal):
        return amount
    if isinstance(amount, float):
        return Decimal(repr(amount))
    return Decimal(str(amount).strip())


def money(amount, currency=None):
    """``amount`` in ``currency`` as the active language writes money (see the module)."""
    if amount is None or amount == "":
        return ""
    try:
        value = _decimal(amount).quantize(CENTS, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError, TypeError):
        return str(amount)
    if not value.is_finite():
        return str(amount)
    code = str(currency or omnichannel_settings.DEFAULT_CURRENCY or "").strip().upper()
    number = formats.number_format(abs(value), 2, use_l10n=True, force_grouping=True)
    sign = "-" if value < 0 else ""
    if not code:
        return sign + number
    symbol = CURRENCY_SYMBOLS.get(code)
    language = (translation.get_language() or "").split("-")[0].lower()
    if language in SYMBOL_FIRST_LANGUAGES and code not in SYMBOLS_AFTER:
        return f"{sign}{symbol}{number}" if symbol else f"{sign}{code}{NBSP}{number}"
    return f"{sign}{number}{NBSP}{symbol or code}"


def isodate(value):
    """A datetime (or date) from an ISO 8601 string; a date or datetime passes through;
    anything else gives None, which ``date`` writes as nothing."""
    if isinstance(value, (datetime, date)):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return parse_date(text) or parse_datetime(text)
    except ValueError:
        return None
