"""The entry for Oscar's dashboard menu that leads staff to the marketing admin.

Oscar reads its menu from the ``OSCAR_DASHBOARD_NAVIGATION`` setting, so the entry is
added there, in settings.py (this module imports no models, so settings may import it):

    from oscar.defaults import *  # noqa
    from omnichannel.contrib.oscar.dashboard import MARKETING_NAVIGATION

    OSCAR_DASHBOARD_NAVIGATION = [*OSCAR_DASHBOARD_NAVIGATION, MARKETING_NAVIGATION]
"""

from django.utils.translation import gettext_lazy as _


def staff_only(user, url_name, url_args=None, url_kwargs=None):
    # Oscar's default access check only knows its own dashboard views; the Django admin
    # decides the rest itself, per model.
    return user.is_active and user.is_staff


MARKETING_NAVIGATION = {
    "label": _("Marketing"),
    "icon": "fas fa-bullhorn",
    "children": [
        {
            "label": _("Flows, popups and contacts"),
            "url_name": "admin:app_list",
            "url_kwargs": {"app_label": "omnichannel"},
            "access_fn": staff_only,
        },
        {
            "label": _("Cart recovery"),
            "url_name": "admin:omnichannel_cartrecovery_changelist",
            "access_fn": staff_only,
        },
    ],
    "access_fn": staff_only,
}
