"""The admin home page as marketing staff find their way in it.

Django orders the admin index by application name and reorders it only per admin site
(``AdminSite.get_app_list``), which a reusable app must not replace. So the app ships an
``admin/index.html`` (and ``admin/nav_sidebar.html``) that extend Django's own and show the
same, already permission-filtered, app list in three parts:

1. **Marketing**: the pages the people who run the campaigns use every day, in that order
   (the period's results first), among those the user may open (none: no section);
2. every other application as Django lists it, the app's remaining models under its own
   name;
3. **Scheduler (advanced)**: django-celery-beat's crontabs, intervals, solar events and
   clocked schedules, folded away at the end; ``manage.py omnichannel_schedule`` fills them.

The templates take effect when ``omnichannel`` is listed above ``django.contrib.admin`` in
``INSTALLED_APPS`` (Django uses the first ``admin/index.html`` it finds); a shop with its own
index template includes ``admin/omnichannel/app_list_sections.html`` in it instead.
"""

from django.utils.translation import gettext_lazy as _

from .permissions import APP_LABEL

# The Marketing section's models, in the order it lists them.
# The marketing home (``admin.results``) comes first: the page to open every morning.
MARKETING_MODELS = (
    "marketingresults", "flow", "popup", "segment", "contact", "message", "cartrecovery", "brand",
)  # fmt: skip
# Applications of the scheduler's internals, shown last and folded.
SCHEDULER_APPS = ("django_celery_beat",)


def home_sections(app_list):
    """``app_list`` (``AdminSite.get_app_list``'s answer) in three lists of app entries,
    ``{"marketing": [...], "apps": [...], "scheduler": [...]}`` (Marketing: one entry or
    none). Every entry keeps Django's shape, so ``admin/app_list.html`` draws each part."""
    marketing, apps, scheduler = [], [], []
    for app in app_list:
        if app["app_label"] in SCHEDULER_APPS:
            scheduler.append(app)
        elif app["app_label"] == APP_LABEL:
            marketing, rest = _split_marketing(app)
            if rest["models"]:
                apps.append(rest)
        else:
            apps.append(app)
    return {"marketing": marketing, "apps": apps, "scheduler": scheduler}


def _split_marketing(app):
    by_name = {model["object_name"].lower(): model for model in app["models"]}
    models = [by_name[name] for name in MARKETING_MODELS if name in by_name]
    marketing = {**app, "name": _("Marketing"), "app_label": "marketing", "models": models}
    rest = [model for model in app["models"] if model not in models]
    return ([marketing] if models else []), {**app, "models": rest}
