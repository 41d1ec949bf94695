"""``{% load omnichannel_admin %}``: the admin home's sections (``omnichannel.admin.home``).

``{% admin_home_sections app_list as sections %}`` gives ``sections.marketing``,
``sections.apps`` and ``sections.scheduler``: lists of app entries, as Django's
``admin/app_list.html`` takes them.
"""

from django import template

from ..admin.home import home_sections

register = template.Library()
register.simple_tag(home_sections, name="admin_home_sections")
