"""Languages: the shipped catalogs, pages in the visitor's language, money and dates in the
reader's locale, messages in the recipient's language."""

import gettext
import re
import shutil
import subprocess
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from omnichannel.core.formatting import isodate, money
from omnichannel.core.links import restore_url
from omnichannel.core.tokens import unsubscribe_token
from omnichannel.flows.engine import advance_due, enroll
from omnichannel.models import Flow, Message, StepContent
from omnichannel.models.carts import CartStatus
from omnichannel.outbox.rendering import language_of, render_message
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory
from tests.flows.conftest import make_flow

LOCALE = Path(__file__).resolve().parent.parent / "omnichannel" / "locale"
TRANSLATED = ["fr", "ru", "bg", "sk"]
SHIPPED = ["en", *TRANSLATED]
NBSP = "\N{NO-BREAK SPACE}"

needs_msgfmt = pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs GNU gettext")


def catalog(language, suffix="po"):
    return LOCALE / language / "LC_MESSAGES" / f"django.{suffix}"


class Entry(NamedTuple):
    flags: str
    msgid: str
    strings: list
    # What gettext looks a message up by: a msgid may be in a catalog once per context,
    # and ngettext finds only an entry with the same plural msgid.
    key: tuple


def entries(language):
    return read_entries(catalog(language))


def read_entries(path):
    """Every entry of a catalog but its header, read with the same rules as msgfmt for
    the parts this test needs."""
    found = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        flags = " ".join(line for line in block.splitlines() if line.startswith("#,"))
        fields, key = {}, None
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$', line)
            if match:
                key = match.group(1)
                fields[key] = ""
                line = match.group(2)
            fields[key] += line[1:-1]
        if fields.get("msgid"):
            strings = [value for name, value in fields.items() if name.startswith("msgstr")]
            lookup = (fields.get("msgctxt", ""), fields["msgid"], fields.get("msgid_plural", ""))
            found.append(Entry(flags, fields["msgid"], strings, lookup))
    return found


# --- the catalogs -------------------------------------------------------------------------


@needs_msgfmt
@pytest.mark.parametrize("language", SHIPPED)
def test_each_catalog_compiles_cleanly(language):
    """What compilemessages runs: placeholders match, the header is whole."""
    result = subprocess.run(
        ["msgfmt", "--check-format", "--check-header", "-o", "/dev/null", str(catalog(language))],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(language):
    found = entries(language)
    assert len(found) > 700
    assert [entry.msgid for entry in found if "fuzzy" in entry.flags] == []
    untranslated = [entry.msgid for entry in found if not all(entry.strings)]
    assert untranslated == []


def test_the_catalogs_hold_the_same_messages():
    keys = {language: {entry.key for entry in entries(language)} for language in SHIPPED}
    assert all(found == keys["en"] for found in keys.values())


@needs_msgfmt
def test_every_string_the_source_marks_is_in_every_catalog(tmp_path, monkeypatch, settings):
    """What ``makemessages`` finds in omnichannel/ (Python, templates, plurals, contexts)
    has an entry in each shipped catalog, and so a translation (the tests above hold every
    entry translated): a string marked without one shows in English to every reader.
    makemessages runs on a copy, as it would rewrite the real catalogs; with no
    LOCALE_PATHS it writes only into the copy's locale/."""
    package = tmp_path / "omnichannel"
    shutil.copytree(LOCALE.parent, package, ignore=shutil.ignore_patterns("locale", "__pycache__"))
    (package / "locale").mkdir()
    settings.LOCALE_PATHS = []
    monkeypatch.chdir(package)
    call_command("makemessages", locale=["en"], verbosity=0)
    marked = {entry.key for entry in read_entries(package / "locale/en/LC_MESSAGES/django.po")}
    assert len(marked) > 1000
    missing = {}
    for language in SHIPPED:
        lacking = marked - {entry.key for entry in entries(language)}
        if lacking:
            missing[language] = sorted(msgid for _context, msgid, _plural in lacking)
    assert missing == {}


@pytest.mark.parametrize(
    ("language", "plural_forms"),
    [
        ("en", "nplurals=2; plural=(n != 1);"),
        ("fr", "nplurals=2; plural=(n > 1);"),
        ("bg", "nplurals=2; plural=(n != 1);"),
        ("ru", "nplurals=4; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4"),
        ("sk", "nplurals=4; plural=(n % 1 == 0 && n == 1 ? 0 : n % 1 == 0 && n >= 2"),
    ],
)
def test_plural_forms_are_django_s_own(language, plural_forms):
    """The same plural rule as Django's catalog of the language, so the two merge."""
    header = catalog(language).read_text(encoding="utf-8").split("\n\n")[0]
    header = header.replace('"\n"', "")
    assert f"Plural-Forms: {plural_forms}" in header
    assert f"Language: {language}\\n" in header


@needs_msgfmt
@pytest.mark.parametrize("language", SHIPPED)
def test_the_shipped_mo_files_are_up_to_date(language, tmp_path):
    """Run ``django-admin compilemessages`` in omnichannel/ after editing a .po file."""
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(catalog(language))], check=True)
    with catalog(language, "mo").open("rb") as shipped, fresh.open("rb") as compiled:
        assert (
            gettext.GNUTranslations(shipped)._catalog == gettext.GNUTranslations(compiled)._catalog
        )


def test_the_package_ships_the_catalogs():
    setup = (LOCALE.parent.parent / "setup.cfg").read_text()
    assert "locale/**/*" in setup.split("[options.package_data]")[1].split("[")[0]
    for language in SHIPPED:
        assert catalog(language, "mo").is_file()


# --- pages in the visitor's language ------------------------------------------------------


@pytest.fixture
def ann(db):
    return ContactFactory(consents=["email"])


@pytest.mark.parametrize(
    ("accept", "heading", "button"),
    [
        ("en", "Unsubscribe?", "Unsubscribe"),
        ("fr-FR,fr;q=0.9", "Se désabonner ?", "Se désabonner"),
        ("ru", "Отписаться?", "Отписаться"),
        ("bg", "Отписване?", "Отписване"),
        ("sk", "Odhlásiť odber?", "Odhlásiť odber"),
    ],
)
def test_the_unsubscribe_page_speaks_the_visitor_s_language(client, ann, accept, heading, button):
    url = reverse("omnichannel:unsubscribe", args=[unsubscribe_token(ann, "email")])
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=accept)
    html = response.content.decode()
    assert f"<h1>{heading}</h1>" in html
    assert f'<button type="submit">{button}</button>' in html
    assert f'<html lang="{accept[:2]}">' in html


def test_the_unsubscribed_page_in_french(client, ann):
    url = reverse("omnichannel:unsubscribe", args=[unsubscribe_token(ann, "email")])
    html = client.post(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Vous êtes désabonné" in html
    assert f"Nous n'enverrons plus de messages marketing à {ann.email}" in html


def test_a_language_without_a_catalog_falls_back_to_english(client, ann):
    url = reverse("omnichannel:unsubscribe", args=[unsubscribe_token(ann, "email")])
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "<h1>Unsubscribe?</h1>" in html


@pytest.mark.parametrize(
    ("accept", "ordered", "shop"),
    [
        ("fr", "Ce panier a été commandé", "Aller à Sample Shop"),
        ("ru", "Эта корзина уже оформлена", "Перейти в Sample Shop"),
    ],
)
def test_the_cart_link_page_in_french_and_russian(client, db, accept, ordered, shop):
    cart = CartSnapshotFactory(status=CartStatus.CONVERTED)
    response = client.get(restore_url(cart), HTTP_ACCEPT_LANGUAGE=accept)
    html = response.content.decode()
    assert response.status_code == 200
    assert ordered in html and shop in html


def test_a_broken_cart_link_in_russian(client, db):
    url = reverse("omnichannel:restore_cart", args=["not-a-token"])
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Эта ссылка не работает" in html


def test_the_language_code_setting_applies_without_accept_language(client, ann, settings):
    settings.LANGUAGE_CODE = "sk"
    url = reverse("omnichannel:unsubscribe", args=[unsubscribe_token(ann, "email")])
    assert "<h1>Odhlásiť odber?</h1>" in client.get(url).content.decode()


# --- the admin ------------------------------------------------------------------------------


def test_admin_action_labels_are_translated():
    flow_admin = admin.site._registry[Flow]
    expected = {
        "fr": "Activer les scénarios sélectionnés",
        "ru": "Активировать выбранные сценарии",
        "bg": "Активиране на избраните сценарии",
        "sk": "Aktivovať vybrané scenáre",
    }
    for language, label in expected.items():
        with translation.override(language):
            assert str(flow_admin.activate.short_description) == label
            assert str(Flow._meta.verbose_name_plural) != "flows"


def test_the_admin_changelist_in_french(admin_client):
    make_flow()
    html = admin_client.get(
        reverse("admin:omnichannel_flow_changelist"), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert "Activer les scénarios sélectionnés" in html
    assert "Archiver les scénarios sélectionnés" in html


def test_admin_messages_have_plural_forms_in_russian():
    from django.utils.translation import ngettext

    with translation.override("ru"):
        forms = [
            ngettext("%d message requeued.", "%d messages requeued.", n) % n for n in (1, 3, 5, 21)
        ]
    assert forms == [
        "1 сообщение снова в очереди.",
        "3 сообщения снова в очереди.",
        "5 сообщений снова в очереди.",
        "21 сообщение снова в очереди.",
    ]


# --- money and dates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "amount", "currency", "expected"),
    [
        ("en", Decimal("12.5"), "EUR", "€12.50"),
        ("en", "1234.5", "USD", "$1,234.50"),
        ("en", 3, "GBP", "£3.00"),
        ("en", "9.99", "BGN", f"9.99{NBSP}лв."),
        ("en", "100", "CZK", f"100.00{NBSP}Kč"),
        ("en", "7", "CHF", f"CHF{NBSP}7.00"),
        ("en", Decimal("-5"), "EUR", "-€5.00"),
        ("fr", Decimal("12.5"), "EUR", f"12,50{NBSP}€"),
        ("fr", "1234.5", "EUR", f"1{NBSP}234,50{NBSP}€"),
        ("ru", "1234.5", "RUB", f"1{NBSP}234,50{NBSP}₽"),
        ("bg", "12.5", "BGN", f"12,50{NBSP}лв."),
        ("sk", "0.125", "EUR", f"0,13{NBSP}€"),  # rounded half up, not cut
        ("sk", "12.5", "usd", f"12,50{NBSP}$"),
        ("fr-ca", "12.5", "EUR", f"12,50{NBSP}€"),
    ],
)
def test_money_per_locale(language, amount, currency, expected):
    with translation.override(language):
        assert money(amount, currency) == expected


def test_money_defaults_and_oddities(settings):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "DEFAULT_CURRENCY": "USD"}
    with translation.override("en"):
        assert money("2") == "$2.00"
        assert money(None, "EUR") == ""
        assert money("", "EUR") == ""
        assert money("a lot", "EUR") == "a lot"
        assert money(float("nan"), "EUR") == "nan"


def test_isodate_reads_a_stored_timestamp():
    value = isodate("2025-03-12T10:30:00+00:00")
    assert value == datetime.fromisoformat("2025-03-12T10:30:00+00:00")
    assert isodate("2025-03-12") == datetime(2025, 3, 12).date()
    assert isodate("soon") is None and isodate(None) is None


# --- messages in the recipient's language ------------------------------------------------


def rendered(contact, text, **context):
    message = Message(contact=contact, channel="email", content={"text": text}, context=context)
    return render_message(message)["text"]


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fr", "12 mars 2025"),
        ("fr-CA", "12 mars 2025"),
        ("fr_FR", "12 mars 2025"),
        ("ru", "12 марта 2025 г."),
        ("bg", "12 Март 2025"),
        ("sk", "12. marec 2025"),
        ("", "March 12, 2025"),  # LANGUAGE_CODE
        ("de", "12. März 2025"),  # Django's own formats for a language omnichannel lacks
        ("not a locale!", "March 12, 2025"),
    ],
)
def test_a_message_renders_dates_in_the_recipient_s_language(db, locale, expected):
    contact = ContactFactory(locale=locale)
    template = "{{ discount.expires_at|isodate|date:'DATE_FORMAT' }}"
    context = {"discount": {"expires_at": "2025-03-12T10:00:00+00:00"}}
    assert rendered(contact, template, **context) == expected


def test_a_message_renders_money_in_the_recipient_s_language(db):
    template = "{{ cart.value|money:cart.currency }}"
    cart = {"value": "1234.50", "currency": "EUR"}
    assert rendered(ContactFactory(locale="fr"), template, cart=cart) == f"1{NBSP}234,50{NBSP}€"
    assert rendered(ContactFactory(locale="en-GB"), template, cart=cart) == "€1,234.50"
    # {% load omnichannel_format %} copied from a site template works too.
    loaded = "{% load omnichannel_format %}" + template
    assert rendered(ContactFactory(locale="sk"), loaded, cart=cart) == f"1{NBSP}234,50{NBSP}€"


def test_rendering_leaves_the_active_language_as_it_was(db):
    with translation.override("bg"):
        rendered(ContactFactory(locale="fr"), "{{ contact.email }}")
        assert translation.get_language() == "bg"


def test_language_of():
    assert language_of("pt_BR") == "pt-br"
    assert language_of(" FR ") == "fr"
    assert language_of("") == "en-us"
    assert language_of("../etc") == "en-us"


def test_flow_content_falls_back_from_region_to_language_to_default(db):
    """A fr-CA contact gets the fr content, a de contact the default one; each message
    renders in its recipient's language."""
    flow = make_flow(steps=[("Hello", timedelta(0), "email")])
    step = flow.steps.get()
    step.contents.update(text="EN {{ trigger.day|isodate|date:'F' }}")
    StepContent.objects.create(
        step=step,
        channel="email",
        locale="fr",
        subject="Bonjour",
        text="FR {{ trigger.day|isodate|date:'F' }}",
    )
    french = ContactFactory(locale="fr-CA", consents=["email"])
    german = ContactFactory(locale="de", consents=["email"])
    for contact in (french, german):
        enroll(flow, contact, trigger_key=contact.locale, context={"day": "2025-03-12"})
    advance_due()
    sent = {m.contact_id: render_message(m) for m in Message.objects.select_related("contact")}
    assert (sent[french.pk]["subject"], sent[french.pk]["text"]) == ("Bonjour", "FR mars")
    assert sent[german.pk]["subject"].startswith("Hello")
    assert sent[german.pk]["text"] == "EN März"
