"""``{% omnichannel_preferences %}`` and the preference centre's language choice."""

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import OperationalError, connection
from django.template import Context, Template
from django.test import RequestFactory, override_settings
from django.urls import reverse

from omnichannel.core.tokens import unsubscribe_token
from omnichannel.integrations import session
from omnichannel.testing.factories import ContactFactory

pytestmark = pytest.mark.django_db

# A URLconf without the app's URLs, for the test of a shop that forgot to include them.
urlpatterns = []

TAG = Template("{% load omnichannel_preferences %}{% omnichannel_preferences %}")


def render(user=None, *, contact_in_session=None, with_request=True):
    if not with_request:
        return TAG.render(Context({}))
    request = RequestFactory().get("/account/")
    request.user = user or AnonymousUser()
    request.session = {}
    if contact_in_session is not None:
        session.remember_contact(request, contact_in_session)
    return TAG.render(Context({"request": request}))


def link(html):
    return re.search(r'class="omnichannel-preferences"><a href="([^"]+)"', html).group(1)


def test_account_page_links_a_customer_to_their_preferences(client, customer):
    contact = ContactFactory(user=customer, consents=["email"])
    client.force_login(customer)
    page = client.get(reverse("shop:account")).content.decode()
    preferences = client.get(link(page))
    assert preferences.status_code == 200
    assert preferences.context["contact"] == contact
    assert preferences.context["form"].initial["email"] is True


def test_the_link_carries_a_signed_token_not_an_id(customer):
    contact = ContactFactory(user=customer)
    url = link(render(customer))
    assert url.startswith("/omnichannel/preferences/")
    token = url.split("/")[-2]
    assert token != str(contact.pk) and token.count(":") == 2  # signed, carries no id


@pytest.mark.parametrize("case", ["no request", "anonymous", "user without contact"])
def test_renders_nothing_without_a_customer_contact(case, customer):
    html = {
        "no request": lambda: render(with_request=False),
        "anonymous": lambda: render(),
        "user without contact": lambda: render(customer),
    }[case]()
    assert html == ""


def test_a_contact_named_only_by_the_session_gets_no_link():
    # The session learns a contact from any email typed into a popup: that proves nothing.
    assert render(contact_in_session=ContactFactory()) == ""


def test_never_raises_when_the_database_fails(customer, caplog):
    ContactFactory(user=customer)

    def fail(execute, sql, params, many, context):
        raise OperationalError("the database went away")

    with connection.execute_wrapper(fail):
        assert render(customer) == ""
    assert "preferences link failed" in caplog.text


@override_settings(ROOT_URLCONF=__name__)
def test_never_raises_when_the_app_urls_are_missing(customer, caplog):
    ContactFactory(user=customer)
    assert render(customer) == ""
    assert "preferences link failed" in caplog.text


# --- the language in the preference centre ------------------------------------------------


def preferences_url(contact):
    return reverse("omnichannel:preferences", args=[unsubscribe_token(contact, "email")])


def test_language_choice_saves_the_contact_locale(client):
    contact = ContactFactory(consents=["email"])
    page = client.get(preferences_url(contact))
    assert "français" in page.content.decode()  # languages named in their own language
    response = client.post(preferences_url(contact), {"email": "on", "language": "fr"})
    assert response.context["saved"]
    contact.refresh_from_db()
    assert contact.locale == "fr"
    client.post(preferences_url(contact), {"email": "on", "language": ""})
    contact.refresh_from_db()
    assert contact.locale == ""


def test_unknown_language_is_refused_with_a_form_error(client):
    contact = ContactFactory(locale="de", consents=["email"])
    response = client.post(preferences_url(contact), {"email": "on", "language": "xx"})
    assert not response.context["saved"]
    assert "language" in response.context["form"].errors
    assert "Select a valid choice" in response.content.decode()
    contact.refresh_from_db()
    assert contact.locale == "de"


@override_settings(LANGUAGES=[("en", "English"), ("pt-br", "Brazilian Portuguese")])
def test_a_locale_shown_by_its_closest_language_is_kept_unless_changed(client):
    contact = ContactFactory(locale="pt_BR", consents=["email"])
    page = client.get(preferences_url(contact))
    assert page.context["form"].initial["language"] == "pt-br"
    client.post(preferences_url(contact), {"email": "on", "language": "pt-br"})
    contact.refresh_from_db()
    assert contact.locale == "pt_BR"
    choices = dict(page.context["form"].fields["language"].choices)
    assert set(choices) == {"", "en", "pt-br"}
