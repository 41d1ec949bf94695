"""Finding one's way in the admin: the home page's sections, the cart recovery dashboard as
a page of its own, messages as read-only records, and the app's stylesheet on its pages.

The browser tier (tests/browser/test_admin_navigation.py) checks the same in Chromium,
with the layout: long URLs wrap instead of widening the page.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from omnichannel.admin.home import MARKETING_MODELS, home_sections
from omnichannel.admin.permissions import marketing_group
from omnichannel.models import Message
from omnichannel.models.messages import MessageStatus
from omnichannel.testing.factories import ContactFactory

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("admin:omnichannel_cartrecovery_changelist")


def logged_in(username, *, group=None, permissions=(), superuser=False):
    users = get_user_model().objects
    if superuser:
        user = users.create_superuser(username, f"{username}@shop.example", "pw")
    else:
        user = users.create_user(username, f"{username}@shop.example", "pw", is_staff=True)
        user.user_permissions.add(*Permission.objects.filter(codename__in=permissions))
    if group is not None:
        user.groups.add(group)
    client = Client()
    client.force_login(user)
    return client


def home_headings(client):
    """The admin home's section headings and folded headings, top to bottom."""
    html = client.get(reverse("admin:index")).content.decode()
    main = html.split('id="content-main"', 1)[1].split('id="content-related"', 1)[0]
    return [
        caption or summary
        for caption, summary in re.findall(
            r'<caption>\s*<a [^>]*class="section"[^>]*>([^<]*)</a>|<summary>([^<]*)</summary>',
            main,
        )
    ]


# --- the home page's sections -------------------------------------------------------------


def app(label, *models):
    return {
        "name": label.title(),
        "app_label": label,
        "app_url": f"/admin/{label}/",
        "models": [{"object_name": name.title(), "name": name} for name in models],
    }


def test_sections_put_marketing_first_and_the_scheduler_last():
    app_list = [
        app("auth", "group", "user"),
        app("django_celery_beat", "crontabschedule", "periodictask"),
        app("omnichannel", "cartsnapshot", "contact", "flow", "message", "popup"),
        app("shop", "order"),
    ]
    sections = home_sections(app_list)
    [marketing] = sections["marketing"]
    assert (marketing["name"], [m["name"] for m in marketing["models"]]) == (
        "Marketing",
        ["flow", "popup", "contact", "message"],  # MARKETING_MODELS' order, not Django's
    )
    assert [(a["app_label"], [m["name"] for m in a["models"]]) for a in sections["apps"]] == [
        ("auth", ["group", "user"]),
        ("omnichannel", ["cartsnapshot"]),
        ("shop", ["order"]),
    ]
    assert [a["app_label"] for a in sections["scheduler"]] == ["django_celery_beat"]


def test_no_marketing_section_without_its_models_and_no_empty_app_left():
    sections = home_sections([app("auth", "user"), app("omnichannel", *MARKETING_MODELS)])
    assert [m["name"] for m in sections["marketing"][0]["models"]] == list(MARKETING_MODELS)
    assert [a["app_label"] for a in sections["apps"]] == ["auth"]
    assert home_sections([app("omnichannel", "channelcost")])["marketing"] == []


def test_a_marketer_sees_marketing_first_and_the_scheduler_folded_last():
    marketer = logged_in("marketer", group=marketing_group())
    marketer_headings = home_headings(marketer)
    assert marketer_headings[0] == "Marketing"
    assert "Scheduler (advanced)" not in marketer_headings  # no celery-beat permission
    boss = home_headings(logged_in("boss", superuser=True))
    assert boss[0] == "Marketing"
    assert boss[-2:] == ["Scheduler (advanced)", "Periodic Tasks"]
    html = marketer.get(reverse("admin:index")).content.decode()
    marketing = html.split('class="app-marketing module', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<th scope="row" id="marketing-(\w+)"', marketing)
    assert rows == list(MARKETING_MODELS)
    assert f'<a href="{DASHBOARD}"' in marketing


def test_staff_without_marketing_permissions_get_no_marketing_section():
    headings = home_headings(logged_in("hr", permissions=["view_user"]))
    assert headings == ["Authentication and Authorization"]


def test_staff_who_may_see_nothing_are_told_so():
    html = logged_in("nobody").get(reverse("admin:index")).content.decode()
    assert "permission to view or edit anything" in html


def test_the_home_page_in_french():
    boss = logged_in("boss", superuser=True)
    html = boss.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Planificateur (avancé)" in html
    assert f'<a href="{DASHBOARD}"' in html and "Récupération de paniers" in html


def test_the_sidebar_lists_apps_in_the_same_order():
    html = logged_in("boss", superuser=True).get(DASHBOARD).content.decode()
    sidebar = html.split('id="nav-sidebar"', 1)[1].split("</nav>", 1)[0]
    assert sidebar.index("Marketing") < sidebar.index("Authentication and Authorization")
    assert sidebar.index("Sample shop") < sidebar.index("Scheduler (advanced)")


# --- messages are records -------------------------------------------------------------------


def message(status, **fields):
    return Message.objects.create(
        contact=ContactFactory(),
        channel="email",
        status=status,
        scheduled_at=timezone.now(),
        idempotency_key=f"nav-{Message.objects.count()}",
        **fields,
    )


SAVE_BUTTONS = ('name="_save"', 'name="_continue"', 'name="_addanother"')


@pytest.mark.parametrize("status", [s for s in MessageStatus if s != MessageStatus.QUEUED])
def test_a_message_being_or_once_sent_has_no_save_or_delete_buttons(status):
    sent = message(status)
    html = (
        logged_in("boss", superuser=True)
        .get(reverse("admin:omnichannel_message_change", args=[sent.pk]))
        .content.decode()
    )
    assert "View message" in html
    assert not any(button in html for button in SAVE_BUTTONS)
    assert reverse("admin:omnichannel_message_delete", args=[sent.pk]) not in html


def test_a_queued_message_can_be_deleted_but_not_edited():
    queued = message(MessageStatus.QUEUED)
    boss = logged_in("boss", superuser=True)
    html = boss.get(reverse("admin:omnichannel_message_change", args=[queued.pk])).content
    assert not any(button in html.decode() for button in SAVE_BUTTONS)
    assert reverse("admin:omnichannel_message_delete", args=[queued.pk]) in html.decode()
    boss.post(reverse("admin:omnichannel_message_delete", args=[queued.pk]), {"post": "yes"})
    assert not Message.objects.filter(pk=queued.pk).exists()


def test_deleting_a_sent_message_is_refused_even_in_bulk():
    sent, queued = message(MessageStatus.SENT), message(MessageStatus.QUEUED)
    boss = logged_in("boss", superuser=True)
    page = boss.get(reverse("admin:omnichannel_message_delete", args=[sent.pk]))
    assert page.status_code == 403
    bulk = boss.post(
        reverse("admin:omnichannel_message_changelist"),
        {"action": "delete_selected", "_selected_action": [sent.pk, queued.pk], "post": "yes"},
    )
    assert bulk.status_code == 403 and Message.objects.count() == 2
    asked = boss.post(
        reverse("admin:omnichannel_message_changelist"),
        {"action": "delete_selected", "_selected_action": [sent.pk]},
    )
    assert "permission to delete" in asked.content.decode()


# --- the stylesheet -------------------------------------------------------------------------


def test_the_apps_stylesheet_is_on_its_pages():
    boss = logged_in("boss", superuser=True)
    sent = message(MessageStatus.SENT)
    pages = [
        reverse("admin:index"),
        reverse("admin:omnichannel_message_changelist"),
        reverse("admin:omnichannel_message_change", args=[sent.pk]),
        reverse("admin:omnichannel_contact_timeline", args=[sent.contact.pk]),
        DASHBOARD,
    ]
    for page in pages:
        assert "omnichannel/admin/omnichannel.css" in boss.get(page).content.decode(), page
