"""Delays as people write them: "30 minutes", "2 hours", "1 day 2 hours", "90 min".

``parse_delay`` reads the unit words of the five shipped languages at once (a French
marketer may type "2 heures" in an English admin, and every form ``describe_delay``
writes reads back), plus Django's duration syntax ("00:30:00", "1 02:00:00", ISO 8601
"P1DT2H"). A bare number is refused: "30" could be seconds or minutes, and a cart
reminder sent 30 seconds after the cart is no reminder. ``describe_delay`` writes a delay
in days, hours, minutes and seconds, in the active language.

``parse_wait`` reads a step's whole timing: a delay, a time of day to wait for ("until
10:00", "1 day, then until 10:00"), or both, in the words ``describe_wait`` writes.
"""

import re
from datetime import time, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import translation
from django.utils.dateparse import parse_duration
from django.utils.duration import duration_string
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

SECOND, MINUTE, HOUR, DAY, WEEK = 1, 60, 3600, 86400, 604800

#: Unit words (lower case, any plural or case form) -> seconds. English, French, Russian,
#: Bulgarian, Slovak; no word means two different units in any of them.
_WORDS = (
    (SECOND, "s sec secs second seconds seconde secondes сек секунда секунды секунд секунду "
             "секунди sekunda sekundy sekúnd sekund sekundu"),
    (MINUTE, "m min mins minute minutes мин минута минуты минут минуту минути minúta minúty "
             "minút minútu minut"),
    (HOUR, "h hr hrs hour hours heure heures ч час часа часов часове hod hodina hodiny hodín "
           "hodinu"),
    (DAY, "d day days j jour jours дн день дня дней ден дни дена deň dni dní dňa"),
    (WEEK, "w wk week weeks semaine semaines нед неделя недели недель неделю седмица седмици "
           "týždeň týždne týždňov"),
)  # fmt: skip
UNITS = {word: seconds for seconds, words in _WORDS for word in words.split()}
#: Words and signs that may join the parts: "1 day and 2 hours", "1 jour et 2 heures".
JOINERS = {"and", "et", "и", "a", ",", "+"}

TOKENS = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]+|[,+.]|\S")
NUMBER = re.compile(r"\d+(?:[.,]\d+)?")

EXAMPLES = _(
    "Enter a duration such as “30 minutes”, “2 hours”, “1 day”, “1 day 2 hours” or “90 min” "
    "(seconds, minutes, hours, days or weeks; Django’s “1 02:00:00” works too)."
)


#: "until 10:00" in the shipped languages, after an optional delay and "then": the delay is
#: read by ``parse_delay``, what follows the time must be the words ``describe_wait`` adds.
UNTIL = re.compile(
    r"^(?P<delay>.*?)[\s,]*(?:\b(?:then|and then|puis|et puis|затем|потом|след това|после|"
    r"potom|a potom)\b[\s,]*)?\b(?:until|till|jusqu['’]à|до|do)\s+"
    r"(?P<hour>\d{1,2})[:h](?P<minute>\d{2})(?::(?P<second>\d{2}))?(?P<tail>.*)$"
)
WAIT_EXAMPLES = _(
    "Enter a time of day as “until 10:00” or after a delay, as “1 day, then until 10:00” "
    "(24-hour clock, in the contact's time zone)."
)


class DelayError(ValueError):
    """What is wrong with a delay, in words for staff (``str()``)."""


def parse_delay(text):
    """The ``timedelta`` ``text`` says, to the second; raises ``DelayError``."""
    text = text.strip().casefold()
    if not text:
        raise DelayError(EXAMPLES)
    if ":" in text or text.startswith("p"):
        parsed = parse_duration(text.upper() if text.startswith("p") else text)
        if parsed is None or parsed < timedelta(0):
            raise DelayError(EXAMPLES)
        return parsed
    if text == "0":
        return timedelta(0)
    seconds, number, parts = Decimal(0), None, 0
    for token in TOKENS.findall(text):
        if NUMBER.fullmatch(token):
            if number is not None:
                raise DelayError(EXAMPLES)
            number = Decimal(token.replace(",", "."))
        elif token in UNITS and number is not None:
            seconds += number * UNITS[token]
            number, parts = None, parts + 1
        elif token == "." or (token in JOINERS and number is None):
            continue  # "min." or "1 day and 2 hours"
        elif token.isalpha() and number is not None:
            raise DelayError(
                _("“%(word)s” is not a unit of time. %(examples)s")
                % {"word": token, "examples": EXAMPLES}
            )
        else:
            raise DelayError(EXAMPLES)
    if number is not None:
        raise DelayError(
            _("“%(n)s” of what? Add the unit, e.g. “%(n)s minutes” or “%(n)s hours”.")
            % {"n": f"{number:f}"}
        )
    if not parts:  # "and": nothing said
        raise DelayError(EXAMPLES)
    return timedelta(seconds=int(seconds.to_integral_value()))


def describe_delay(delay):
    """``delay`` in words: "1 day 2 hours", "0 minutes"; Django's syntax for the rare delay
    with a fraction of a second, so that what is shown always reads back the same."""
    if delay.microseconds or delay < timedelta(0):
        return duration_string(delay)
    days, rest = delay.days, delay.seconds
    hours, rest = divmod(rest, HOUR)
    minutes, seconds = divmod(rest, MINUTE)
    parts = [
        ngettext("%(n)d day", "%(n)d days", days) % {"n": days} if days else "",
        ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours} if hours else "",
        ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
        if minutes or not delay
        else "",
        ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds} if seconds else "",
    ]
    return " ".join(part for part in parts if part)


def describe_wait(delay, wait_until):
    """A step's timing in words: its delay, then the time of day it waits for, if any
    ("1 day, then until 10:00, contact's time")."""
    if wait_until is None:
        return describe_delay(delay)
    until = wait_until.strftime("%H:%M:%S" if wait_until.second else "%H:%M")
    if not delay:
        return gettext("until %(time)s, contact's time") % {"time": until}
    return gettext("%(delay)s, then until %(time)s, contact's time") % {
        "delay": describe_delay(delay),
        "time": until,
    }


def parse_wait(text):
    """``(delay, time of day or None)`` that ``text`` says: "2 hours", "until 10:00",
    "1 day, then until 10:00, contact's time"; raises ``DelayError``."""
    found = UNTIL.match(text.strip().casefold())
    if found is None:
        return parse_delay(text), None
    if found["tail"].strip(" ,.") not in {"", *_time_zone_words()}:
        raise DelayError(WAIT_EXAMPLES)
    try:
        until = time(int(found["hour"]), int(found["minute"]), int(found["second"] or 0))
    except ValueError:
        raise DelayError(WAIT_EXAMPLES) from None
    delay = found["delay"].strip(" ,")
    return (parse_delay(delay) if delay else timedelta(0)), until


def _time_zone_words():
    """What ``describe_wait`` writes after the time ("contact's time"), in every language
    the site offers: staff may paste a timing shown in another one."""
    words = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            shown = gettext("until %(time)s, contact's time") % {"time": "\0"}
        words.add(shown.split("\0", 1)[1].strip(" ,.").casefold())
    return words
