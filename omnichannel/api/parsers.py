"""The one JSON parser of the app's endpoints: valid JSON that the app can also answer about.

DRF's ``JSONParser`` accepts two bodies that end in a 500 later on:

* a string holding a lone surrogate (``"\\ud800"``) is valid JSON, but no text containing it
  can be encoded as UTF-8, so the 400 that quotes it ("... is not a valid choice") fails
  while rendering;
* a document nested thousands of levels deep makes ``json.load`` raise ``RecursionError``,
  which is no ``ValueError`` and so escapes the parser.

No body the popup script or the inbox sends nests more than a few levels, so anything
deeper than ``MAX_DEPTH`` is refused before it reaches a serializer.
"""

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 20


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(too_deep()) from None
        check_decoded(data)
        return data


def too_deep():
    return _("JSON parse error - objects and arrays are nested more than %(depth)d deep.") % {
        "depth": MAX_DEPTH
    }


def check_decoded(data):
    """Raise ``ParseError`` for nesting beyond ``MAX_DEPTH`` or text that is not Unicode.

    Walks the document without recursion, so its own depth costs no stack.
    """
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            children = value
        else:
            if isinstance(value, str) and not is_encodable(value):
                raise ParseError(
                    _(
                        "JSON parse error - a string holds a lone surrogate (\\ud800 to "
                        "\\udfff): send text as UTF-8."
                    )
                )
            continue
        if depth > MAX_DEPTH:
            raise ParseError(too_deep())
        pending.extend((child, depth + 1) for child in children)


def is_encodable(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
