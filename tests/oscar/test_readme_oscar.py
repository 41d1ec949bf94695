"""The README's django-oscar settings, executed as written: they are the settings this
tier's shop runs with (plus the test project's own app and a thumbnailer)."""

from django.conf import settings
from django.test import override_settings

from omnichannel.conf import OmnichannelSettings
from omnichannel.contrib.oscar.dashboard import MARKETING_NAVIGATION

from ..readme import copied


def test_the_oscar_settings_are_the_ones_tested():
    (block,) = copied(section="django-oscar")
    namespace = {}
    exec(block.code, namespace)
    extras = {"sorl.thumbnail", "tests.oscar.apps.OscarShopConfig"}
    assert [app for app in settings.INSTALLED_APPS if app not in extras] == (
        namespace["INSTALLED_APPS"]
    )
    assert "SHOP_ADAPTER" not in namespace["OMNICHANNEL"]
    with override_settings(OMNICHANNEL=namespace["OMNICHANNEL"]):
        assert OmnichannelSettings().problems() == []
    assert namespace["OSCAR_DASHBOARD_NAVIGATION"][-1] is MARKETING_NAVIGATION
    assert namespace["OSCAR_DASHBOARD_NAVIGATION"] == settings.OSCAR_DASHBOARD_NAVIGATION
