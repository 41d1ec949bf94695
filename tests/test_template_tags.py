"""One tag library for shops' templates, under its name and its former ones."""

import pytest
from django.template import Context, Template
from django.test import RequestFactory


@pytest.mark.parametrize(
    ("library", "tag"),
    [
        ("omnichannel", "omnichannel_popup"),
        ("omnichannel", "omnichannel_inbox"),
        ("omnichannel", "omnichannel_preferences"),
        ("omnichannel_inbox", "omnichannel_inbox"),
        ("omnichannel_preferences", "omnichannel_preferences"),
    ],
)
def test_each_tag_loads_and_renders_nothing_without_a_request(library, tag):
    assert Template(f"{{% load {library} %}}{{% {tag} %}}").render(Context({})) == ""


@pytest.mark.django_db
def test_a_failing_tag_logs_and_renders_nothing(monkeypatch, caplog):
    def broken(request):
        raise RuntimeError("the session store is down")

    monkeypatch.setattr("omnichannel.templatetags.omnichannel.customer_contact", broken)
    context = Context({"request": RequestFactory().get("/")})
    assert Template("{% load omnichannel %}{% omnichannel_preferences %}").render(context) == ""
    assert "the session store is down" in caplog.text
    assert caplog.records[-1].name == "omnichannel.templatetags.omnichannel"
