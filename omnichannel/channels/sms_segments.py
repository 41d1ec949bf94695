"""SMS segments: what a text costs and how long it takes to send."""

import math

# The GSM 03.38 basic alphabet; any other character makes the whole text UCS-2.
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# These take two septets (an escape and the character).
GSM_EXTENDED = set("^{}\\[~]|€\f")


def is_gsm(text):
    return all(char in GSM_BASIC or char in GSM_EXTENDED for char in text)


def segments(text):
    """How many segments ``text`` is sent as (0 for an empty text)."""
    if not text:
        return 0
    if is_gsm(text):
        length = sum(2 if char in GSM_EXTENDED else 1 for char in text)
        return 1 if length <= 160 else math.ceil(length / 153)
    # UCS-2 counts UTF-16 code units: an emoji takes two.
    length = len(text.encode("utf-16-le")) // 2
    return 1 if length <= 70 else math.ceil(length / 67)
