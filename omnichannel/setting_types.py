"""The kinds of value an ``OMNICHANNEL`` setting holds, each parsed once and checked.

A parser takes the raw value and where it sits (``OMNICHANNEL['SEND_WINDOWS']['sms']``) and
returns what the code uses (a ``SendWindow``, a ``Decimal``, a dict merged over its
defaults), or raises ``Invalid`` with one ``Problem`` per bad part. Like django-anymail's
settings lookup, every message names the exact place and every hint shows what to write,
so ``manage.py check`` tells a shop how to fix its settings before anything is sent.

Problem ids, listed with the other checks in ``omnichannel.checks``:
E007 unknown key, E008 wrong type, E009 out of range, E010 unknown name inside a dict,
E011 time zone, E012 country / currency code, E013 send window, E014 frequency cap,
E015 rate, E016 public base URL.
"""

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass, replace
from decimal import Decimal
from urllib.parse import urlsplit

import phonenumbers

UNKNOWN_KEY = "omnichannel.E007"
WRONG_TYPE = "omnichannel.E008"
OUT_OF_RANGE = "omnichannel.E009"
UNKNOWN_NAME = "omnichannel.E010"
BAD_TIME_ZONE = "omnichannel.E011"
BAD_CODE = "omnichannel.E012"
BAD_WINDOW = "omnichannel.E013"
BAD_CAP = "omnichannel.E014"
BAD_RATE = "omnichannel.E015"
BAD_BASE_URL = "omnichannel.E016"


@dataclass(frozen=True)
class Problem:
    id: str
    message: str
    hint: str


class Invalid(Exception):
    """The value cannot be used; ``problems`` says why, part by part."""

    def __init__(self, *problems):
        super().__init__(" ".join(p.message for p in problems))
        self.problems = problems


def invalid(code, message, hint):
    return Invalid(Problem(code, message, hint))


def at(where, key):
    return f"{where}[{key!r}]"


# --- what the code reads -----------------------------------------------------------------


@dataclass(frozen=True)
class SendWindow:
    """Local hours when marketing may go out: ``start`` <= time < ``end`` on ``days``."""

    start: dt.time
    end: dt.time
    days: frozenset  # weekdays, Monday = 0

    def allows(self, local):
        return local.weekday() in self.days and self.start <= local.time() < self.end


@dataclass(frozen=True)
class FrequencyCap:
    """At most ``count`` marketing messages per ``hours``; over it, "defer" or "skip"."""

    count: int
    hours: float
    action: str

    @property
    def window(self):
        return dt.timedelta(hours=self.hours)


# --- scalars -----------------------------------------------------------------------------


def _is_number(value):
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def number(*, minimum=0, above=True, maximum=None, whole=False, unit=""):
    """A number greater than (``above``) or at least ``minimum``, at most ``maximum``."""
    kind = ("a whole number" if whole else "a number") + (f" of {unit}" if unit else "")
    bound = f"greater than {minimum}" if above else f"at least {minimum}"
    if maximum is not None:
        bound += f" and at most {maximum}"
    described = f"{kind}, {bound}"

    def parse(value, where):
        if not _is_number(value) or (whole and not isinstance(value, int)):
            raise invalid(
                WRONG_TYPE,
                f"{where} must be {described}, not {value!r}.",
                f"Write {described}, without quotes.",
            )
        too_small = value <= minimum if above else value < minimum
        if too_small or (maximum is not None and value > maximum):
            raise invalid(
                OUT_OF_RANGE,
                f"{where} is {value!r}; it must be {described}.",
                f"Write {described}.",
            )
        return value

    return parse


def boolean(value, where):
    if not isinstance(value, bool):
        raise invalid(
            WRONG_TYPE, f"{where} must be True or False, not {value!r}.", "Write True or False."
        )
    return value


def text(value, where):
    if not isinstance(value, str) or not value.strip():
        raise invalid(
            WRONG_TYPE, f"{where} must be a non-empty string, not {value!r}.", "Write it in quotes."
        )
    return value


def optional(parser):
    """``parser``, or None (the setting's "not set")."""

    def parse(value, where):
        if value is None:
            return None
        try:
            return parser(value, where)
        except Invalid as exc:
            raise Invalid(
                *(about_itself(p, where, "None is allowed too.") for p in exc.problems)
            ) from None

    return parse


def about_itself(problem, where, addition):
    """``problem`` with ``addition`` to its hint when it is about the value at ``where``
    itself rather than one of its parts."""
    if not problem.message.startswith(f"{where} "):
        return problem
    return replace(problem, hint=f"{problem.hint} {addition}")


def one_of(choices):
    def parse(value, where):
        if value not in choices:
            raise invalid(
                UNKNOWN_NAME,
                f"{where} is {value!r}; it must be one of {', '.join(map(repr, choices))}.",
                f"Write one of {', '.join(map(repr, choices))}.",
            )
        return value

    return parse


def country(value, where):
    """An ISO 3166 alpha-2 country code, returned in capitals ("fr" -> "FR")."""
    if not isinstance(value, str) or value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise invalid(
            BAD_CODE,
            f"{where} is {value!r}, not a known country code.",
            'Write the two-letter ISO 3166 code of the country, e.g. "FR" or "US".',
        )
    return value.upper()


def currency(value, where):
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value):
        raise invalid(
            BAD_CODE,
            f"{where} is {value!r}, not a currency code.",
            'Write the three-letter ISO 4217 code, e.g. "EUR" or "USD".',
        )
    return value.upper()


def time_zone(value, where):
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise invalid(
            BAD_TIME_ZONE,
            f"{where} is {value!r}, not a time zone this machine knows.",
            'Write an IANA time zone name, e.g. "Europe/Paris" or "America/New_York" '
            "(pip install tzdata where the system has none).",
        ) from None
    return value


def base_url(value, where):
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid(
            BAD_BASE_URL,
            f"{where} is {value!r}, not an absolute http(s) address.",
            'Write the address the internet reaches the shop at, e.g. "https://shop.example.com".',
        )
    if parts.query or parts.fragment:
        raise invalid(
            BAD_BASE_URL,
            f"{where} is {value!r}; a base address has no query or fragment.",
            'Write only the scheme, host and path, e.g. "https://shop.example.com/store".',
        )
    return value


RATE = re.compile(r"(\d+)/(s|sec|second|m|min|minute|h|hour|d|day)")


def rate(value, where):
    """A rate in Django REST framework's "count/period" form, e.g. "20/hour"."""
    if not isinstance(value, str) or not RATE.fullmatch(value) or int(value.split("/")[0]) < 1:
        raise invalid(
            BAD_RATE,
            f"{where} is {value!r}, not a rate.",
            'Write "count/period" with a count of at least 1 and a period of second, minute, '
            'hour or day, e.g. "20/hour".',
        )
    return value


def clock(value, where):
    if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise invalid(
            BAD_WINDOW,
            f"{where} is {value!r}, not a time of day.",
            'Write a 24-hour "HH:MM" time in quotes, e.g. "09:00".',
        )
    return dt.time.fromisoformat(value)


# --- collections -------------------------------------------------------------------------


def _require(kinds, value, where, example):
    if not isinstance(value, kinds):
        expected = "a dict" if kinds is dict else "a list"
        raise invalid(
            WRONG_TYPE, f"{where} must be {expected}, not {value!r}.", f"Write {example}."
        )


def _each(pairs, parse_pair):
    """Parse every ``(key, item)``; all the entries' problems are raised together."""
    problems, parsed = [], {}
    for key, item in pairs:
        try:
            parsed_key, parsed[parsed_key] = parse_pair(key, item)
        except Invalid as exc:
            problems += exc.problems
    if problems:
        raise Invalid(*problems)
    return parsed


def list_of(parser, example, *, allow_empty=True):
    """A list (or tuple) of values each read by ``parser``; returns a tuple."""

    def parse(value, where):
        _require((list, tuple), value, where, example)
        if not value and not allow_empty:
            raise invalid(OUT_OF_RANGE, f"{where} is empty.", f"Write {example}.")
        entries = _each(enumerate(value), lambda i, item: (i, parser(item, at(where, i))))
        return tuple(entries.values())

    return parse


def mapping(key_parser, value_parser, example):
    """A dict whose keys and values are each checked; every bad entry is reported."""

    def parse(value, where):
        _require(dict, value, where, example)
        return _each(
            value.items(),
            lambda key, item: (key_parser(key, where), value_parser(item, at(where, key))),
        )

    return parse


def any_key(key, where):
    return key


def known_key(names, what):
    """A key that must be one of ``names`` (a channel, a kind of history ...)."""

    def parse(key, where):
        if key not in names:
            raise invalid(
                UNKNOWN_NAME,
                f"{where} has an unknown key {key!r}.",
                f"Use {what}: {', '.join(map(repr, names))}.",
            )
        return key

    return parse


def country_key(key, where):
    """A dict key that is a country ("fr" reads as "FR") or "*" for every other one."""
    if key == "*":
        return key
    if isinstance(key, str) and key.upper() in phonenumbers.SUPPORTED_REGIONS:
        return key.upper()
    raise invalid(
        BAD_CODE,
        f"{where} has the key {key!r}, which is not a country code.",
        'Key it by two-letter ISO 3166 codes ("FR"), and "*" for every other country.',
    )


REQUIRED = object()


def record(fields, where, value, example):
    """A dict with the keys of ``fields`` (name -> (parser, default)); returns them parsed.

    A default of ``REQUIRED`` makes the key required.
    """
    _require(dict, value, where, example)
    problems = [
        Problem(
            UNKNOWN_NAME,
            f"{where} has an unknown key {key!r}.",
            f"Its keys are {', '.join(map(repr, fields))}, e.g. {example}.",
        )
        for key in value
        if key not in fields
    ]
    parsed = {}
    for name, (parser, default) in fields.items():
        if name not in value:
            if default is REQUIRED:
                problems.append(
                    Problem(WRONG_TYPE, f"{where} has no {name!r}.", f"Write it like {example}.")
                )
            else:
                parsed[name] = default
            continue
        try:
            parsed[name] = parser(value[name], at(where, name))
        except Invalid as exc:
            problems += exc.problems
    if problems:
        raise Invalid(*problems)
    return parsed


def record_of(fields, example):
    """A dict of some of ``fields``' keys (name -> (parser, default)), each read by its own
    parser; returned complete, the missing keys at their defaults."""

    def parse(value, where):
        return record(fields, where, value, example)

    return parse


WINDOW_EXAMPLE = '{"start": "09:00", "end": "20:00", "days": [0, 1, 2, 3, 4]}'
WEEKDAY = number(minimum=0, above=False, maximum=6, whole=True)


def send_window(value, where):
    fields = {
        "start": (clock, REQUIRED),
        "end": (clock, REQUIRED),
        "days": (
            list_of(
                WEEKDAY,
                "a list of weekdays from 0 to 6 (Monday = 0), e.g. [0, 1, 2, 3, 4]",
                allow_empty=False,
            ),
            range(7),
        ),
    }
    try:
        parsed = record(fields, where, value, WINDOW_EXAMPLE)
    except Invalid as exc:
        # Wrong shapes inside a window all read as "a malformed window", one id to search.
        raise Invalid(*(Problem(BAD_WINDOW, p.message, p.hint) for p in exc.problems)) from None
    if parsed["start"] >= parsed["end"]:
        raise invalid(
            BAD_WINDOW,
            f"{where} starts at {value['start']} and ends at {value['end']}: it never opens.",
            'Write a start before the end on the same day, e.g. "start": "09:00", "end": "20:00" '
            "(a window cannot run past midnight).",
        )
    return SendWindow(parsed["start"], parsed["end"], frozenset(parsed["days"]))


CAP_EXAMPLE = '{"count": 1, "hours": 24, "action": "defer"}'


def frequency_cap(value, where):
    fields = {
        "count": (number(minimum=1, above=False, whole=True), REQUIRED),
        "hours": (number(unit="hours"), REQUIRED),
        "action": (one_of(("defer", "skip")), "defer"),
    }
    try:
        return FrequencyCap(**record(fields, where, value, CAP_EXAMPLE))
    except Invalid as exc:
        raise Invalid(*(Problem(BAD_CAP, p.message, p.hint) for p in exc.problems)) from None


def amount(value, where):
    """A money amount of at least 0, returned as a Decimal (carts are valued in Decimals)."""
    return Decimal(str(number(minimum=0, above=False)(value, where)))


def merged_over(defaults, value_parser, what):
    """A dict of some of ``defaults``' keys, returned complete (missing keys keep defaults)."""
    names = tuple(defaults)
    parse_entries = mapping(
        known_key(names, what), value_parser, f"a dict with some of {', '.join(map(repr, names))}"
    )

    def parse(value, where):
        return {**defaults, **parse_entries(value, where)}

    return parse
