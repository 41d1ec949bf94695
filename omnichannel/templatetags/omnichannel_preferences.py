"""``{% load omnichannel_preferences %}``: the same library as ``{% load omnichannel %}``
(``{% omnichannel_preferences %}`` is in ``templatetags/omnichannel.py``)."""

from .omnichannel import register  # noqa: F401  (Django reads the library's register)
