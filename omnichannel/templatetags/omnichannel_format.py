"""``{% load omnichannel_format %}``: ``{{ amount|money:currency }}`` and ``{{ value|isodate }}``.

How they write amounts and read dates: ``omnichannel.core.formatting``. Message templates
written in the admin have both without a ``{% load %}`` (see ``omnichannel.outbox.rendering``).
"""

from django import template

from ..core.formatting import isodate, money

register = template.Library()
register.filter("money", money, is_safe=False)
register.filter("isodate", isodate, expects_localtime=False)
