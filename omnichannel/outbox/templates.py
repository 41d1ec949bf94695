"""The template engines message content renders with: one autoescaping (HTML parts), one
not (plain-text parts), both with the ``omnichannel_format`` filters built in."""

from functools import lru_cache

from django.template import Engine

# Filters every message template has: {{ cart.value|money:cart.currency }}, |isodate.
FORMAT_LIBRARY = "omnichannel.templatetags.omnichannel_format"


@lru_cache(maxsize=1)
def _engines():
    options = {"builtins": [FORMAT_LIBRARY], "libraries": {"omnichannel_format": FORMAT_LIBRARY}}
    return {
        True: Engine(autoescape=True, **options),
        False: Engine(autoescape=False, **options),
    }


@lru_cache(maxsize=2048)
def _compile(source, autoescape):
    # A batch renders the same few step templates thousands of times: compile once.
    return _engines()[autoescape].from_string(source)
