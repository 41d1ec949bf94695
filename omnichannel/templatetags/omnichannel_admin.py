"""``{% load omnichannel_admin %}``: the admin home's sections (``omnichannel.admin.home``).

``{% admin_home_sections app_list as sections %}`` gives ``sections.marketing``,
``sections.apps`` and ``sections.scheduler``: lists of app entries, as Django's
``admin/app_list.html`` takes them.

``{% attribution_model %}``: the sentence stating how orders are credited
(``omnichannel.carts.attribution.describe``), shown by every report page through
``admin/omnichannel/_attribution.html``.
"""

from django import template

from ..admin.home import home_sections
from ..carts.attribution import describe

register = template.Library()
register.simple_tag(home_sections, name="admin_home_sections")
register.simple_tag(describe, name="attribution_model")
