"""``{% load omnichannel_inbox %}``: the same library as ``{% load omnichannel %}``
(``{% omnichannel_inbox %}`` and ``|inbox_link`` are in ``templatetags/omnichannel.py``)."""

from .omnichannel import register  # noqa: F401  (Django reads the library's register)
