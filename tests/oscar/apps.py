from django.apps import AppConfig


class OscarShopConfig(AppConfig):
    """The test shop project itself; it only loads the shop's Celery app.

    A real project imports its Celery app in its package's ``__init__``; this one is a
    package inside the test suite, so it does that here, under its own settings only.
    """

    name = "tests.oscar"
    label = "oscar_test_shop"

    def ready(self):
        from . import celery  # noqa: F401
