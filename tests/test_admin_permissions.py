"""Staff can do only what their permissions say, in every action and custom admin page.

Four people try everything: a staff member without permissions, a view-only one (every
``view_*`` permission of the app), a member of the "Marketing" group the README
describes (``omnichannel.admin.permissions.marketing_group``) and a superuser. Read pages
need the view permission; anything that changes, sends or exports needs its own.
"""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from omnichannel.admin.permissions import MARKETING_PERMISSIONS, marketing_group
from omnichannel.models import (
    Contact,
    DeliveryEvent,
    Flow,
    Message,
    Popup,
    StepContent,
    Suppression,
    WebhookDelivery,
    WebhookEndpoint,
)
from omnichannel.models.messages import MessageStatus
from omnichannel.models.popups import PopupStatus
from omnichannel.outbox.dispatch import UNCERTAIN_REASON
from omnichannel.testing.factories import ContactFactory, PopupFactory

from .flows.conftest import make_flow

pytestmark = pytest.mark.django_db

ROLES = ("nobody", "viewer", "marketer", "superuser")


def staff(username, *, permissions=None, group=None, superuser=False):
    users = get_user_model().objects
    if superuser:
        user = users.create_superuser(username, f"{username}@shop.example", "pw")
    else:
        user = users.create_user(username, f"{username}@shop.example", "pw", is_staff=True)
    if permissions is not None:
        user.user_permissions.add(*permissions)
    if group is not None:
        user.groups.add(group)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def people():
    views = Permission.objects.filter(
        content_type__app_label="omnichannel", codename__startswith="view_"
    )
    return {
        "nobody": staff("nobody"),
        "viewer": staff("viewer", permissions=views),
        "marketer": staff("marketer", group=marketing_group()),
        "superuser": staff("boss", superuser=True),
    }


def test_the_marketing_group_holds_every_permission_it_names():
    group = marketing_group()
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert codenames == set(MARKETING_PERMISSIONS)
    assert "requeue_message" not in codenames and "export_contact" not in codenames
    assert marketing_group().pk == group.pk  # running it again updates the same group


# --- actions ---------------------------------------------------------------------------


def offered(client, changelist):
    form = client.get(reverse(changelist)).context["action_form"]
    return set() if form is None else {name for name, _label in form.fields["action"].choices}


def run(client, changelist, action, pks, **extra):
    return client.post(
        reverse(changelist), {"action": action, "_selected_action": pks, **extra}, follow=True
    )


def lift():
    suppression = Suppression.objects.create(address="gone@example.com", channel="email")
    return [suppression.pk], lambda: not Suppression.objects.exists()


def requeue():
    message = failed_message()
    return [message.pk], lambda: Message.objects.get(pk=message.pk).status == "queued"


def popup_status(status, wanted):
    def build():
        popup = PopupFactory(status=status)
        return [popup.pk], lambda: Popup.objects.get(pk=popup.pk).status == wanted

    return build


def flow_status(status, wanted):
    def build():
        flow = make_flow(status=status, activated_at=None if status == "draft" else timezone.now())
        return [flow.pk], lambda: Flow.objects.get(pk=flow.pk).status == wanted

    return build


def duplicate():
    flow = make_flow()
    return [flow.pk], lambda: Flow.objects.filter(slug="welcome-copy").exists()


def export():
    contact = ContactFactory()
    return [contact.pk], None  # the answer is the file: checked on the response


def erase():
    contact = ContactFactory(email="erase.me@example.com")
    return [contact.pk], lambda: not Contact.objects.filter(email="erase.me@example.com").exists()


def webhook_endpoint(**fields):
    return WebhookEndpoint.objects.create(url="https://hooks.example.com/in", **fields)


def send_test_event():
    endpoint = webhook_endpoint(events=[])
    return [endpoint.pk], lambda: endpoint.deliveries.filter(event_type="endpoint.test").exists()


def rotate_secret():
    endpoint = webhook_endpoint()
    return [
        endpoint.pk
    ], lambda: WebhookEndpoint.objects.get(pk=endpoint.pk).secret != (endpoint.secret)


def enable_endpoint():
    endpoint = webhook_endpoint(is_active=False, disabled_at=timezone.now())
    return [endpoint.pk], lambda: WebhookEndpoint.objects.get(pk=endpoint.pk).is_active


def retry_delivery():
    delivery = webhook_endpoint().deliveries.create(
        event_type="message.sent", payload={"id": "x"}, status="failed", attempts=10,
        next_attempt_at=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    return [delivery.pk], lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == "pending"


ACTIONS = {
    ("admin:omnichannel_suppression_changelist", "lift"): (lift, {"superuser"}),
    ("admin:omnichannel_message_changelist", "requeue"): (requeue, {"superuser"}),
    ("admin:omnichannel_popup_changelist", "activate"): (
        popup_status(PopupStatus.PAUSED, "active"),
        {"marketer", "superuser"},
    ),
    ("admin:omnichannel_popup_changelist", "pause"): (
        popup_status(PopupStatus.ACTIVE, "paused"),
        {"marketer", "superuser"},
    ),
    ("admin:omnichannel_flow_changelist", "activate"): (
        flow_status("draft", "active"),
        {"marketer", "superuser"},
    ),
    ("admin:omnichannel_flow_changelist", "pause"): (
        flow_status("active", "paused"),
        {"marketer", "superuser"},
    ),
    ("admin:omnichannel_flow_changelist", "resume"): (
        flow_status("paused", "active"),
        {"marketer", "superuser"},
    ),
    ("admin:omnichannel_flow_changelist", "archive"): (
        flow_status("active", "archived"),
        {"marketer", "superuser"},
    ),
    ("admin:omnichannel_flow_changelist", "duplicate"): (duplicate, {"marketer", "superuser"}),
    ("admin:omnichannel_contact_changelist", "export_json"): (export, {"superuser"}),
    ("admin:omnichannel_contact_changelist", "erase"): (erase, {"superuser"}),
    ("admin:omnichannel_webhookendpoint_changelist", "send_test_event"): (
        send_test_event,
        {"superuser"},
    ),
    ("admin:omnichannel_webhookendpoint_changelist", "rotate_secret"): (
        rotate_secret,
        {"superuser"},
    ),
    ("admin:omnichannel_webhookendpoint_changelist", "enable"): (enable_endpoint, {"superuser"}),
    ("admin:omnichannel_webhookdelivery_changelist", "retry_now"): (
        retry_delivery,
        {"superuser"},
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("changelist", "action"), list(ACTIONS))
def test_each_action_runs_only_for_those_allowed(people, role, changelist, action):
    build, allowed = ACTIONS[(changelist, action)]
    client = people[role]
    pks, done = build()
    if role == "nobody":
        assert client.get(reverse(changelist)).status_code == 403
    else:
        assert (action in offered(client, changelist)) == (role in allowed)
    extra = {"post": "yes"} if action == "erase" else {}  # past the confirmation page
    response = run(client, changelist, action, pks, **extra)
    if done is None:
        exported = response.get("Content-Type") == "application/json"
        assert exported == (role in allowed)
    else:
        assert done() == (role in allowed)


def test_every_action_of_the_app_names_its_permissions():
    """Django runs an action without ``allowed_permissions`` for anyone who may view the
    list: that is how view-only staff could lift suppressions and requeue messages."""
    missing = [
        f"{type(model_admin).__name__}.{name}"
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label == "omnichannel"
        for func, name, _label in model_admin._get_base_actions()
        if not getattr(func, "allowed_permissions", None)
    ]
    assert missing == []


def test_every_action_is_tried_above():
    declared = {
        (f"admin:omnichannel_{model._meta.model_name}_changelist", name)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label == "omnichannel"
        for name in (model_admin.actions or [])
    }
    assert declared == set(ACTIONS)


# --- custom admin pages ----------------------------------------------------------------


@pytest.fixture
def pages():
    """(method, url, data, expected status by role) of every custom admin page."""
    flow = make_flow()
    step = flow.steps.get()
    content = step.contents.get()
    contact = ContactFactory()
    popup = PopupFactory()
    readers = {"nobody": 403, "viewer": 200, "marketer": 200, "superuser": 200}
    writers = {"nobody": 403, "viewer": 403, "marketer": 302, "superuser": 302}
    return {
        "omnichannel_step_preview": (
            "get", reverse("admin:omnichannel_step_preview", args=[step.pk]),
            {"contact": contact.pk}, readers,
        ),
        "omnichannel_step_send_test": (
            "post", reverse("admin:omnichannel_step_send_test", args=[step.pk]),
            {"content": content.pk, "contact": contact.pk}, writers,
        ),
        "omnichannel_flow_dry_run": (
            "get", reverse("admin:omnichannel_flow_dry_run", args=[flow.pk]), {}, readers,
        ),
        "omnichannel_flow_do": (
            "post", reverse("admin:omnichannel_flow_do", args=[flow.pk, "pause"]), {}, writers,
        ),
        "omnichannel_flow_graph": (
            "get", reverse("admin:omnichannel_flow_graph", args=[flow.pk]), {}, readers,
        ),
        # A form-encoded body is no graph: past the permission check, the canvas refuses it.
        "omnichannel_flow_canvas": (
            "post", reverse("admin:omnichannel_flow_canvas", args=[flow.pk]), {},
            {"nobody": 403, "viewer": 403, "marketer": 400, "superuser": 400},
        ),
        "omnichannel_popup_preview": (
            "post", reverse("admin:omnichannel_popup_preview"),
            {"name": "P", "variants-0-headline": "Hello"},
            {"nobody": 403, "viewer": 403, "marketer": 200, "superuser": 200},
        ),
        # Past the permission check, nothing to promote: back to the page with a warning.
        "omnichannel_popup_promote_winner": (
            "post", reverse("admin:omnichannel_popup_promote_winner", args=[popup.pk]),
            {"winner": "0"}, writers,
        ),
        "omnichannel_step_promote_winner": (
            "post", reverse("admin:omnichannel_step_promote_winner", args=[step.pk]),
            {"winner": "0"}, writers,
        ),
        "omnichannel_cartrecovery_changelist": (
            "get", reverse("admin:omnichannel_cartrecovery_changelist"), {}, readers,
        ),
        "omnichannel_contact_timeline": (
            "get", reverse("admin:omnichannel_contact_timeline", args=[contact.pk]), {}, readers,
        ),
    }  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_each_custom_page_answers_by_permission(people, pages, role):
    answers = {}
    for name, (method, url, data, _expected) in pages.items():
        answers[name] = getattr(people[role], method)(url, data).status_code
    assert answers == {name: expected[role] for name, (*_rest, expected) in pages.items()}
    writes = {
        "flow paused": Flow.objects.filter(status="paused").exists(),
        "test sent": bool(mail.outbox),
    }
    assert all(writes.values()) if role in ("marketer", "superuser") else not any(writes.values())


# The views of Django's own ModelAdmin pages; any other view (the cart recovery dashboard
# standing in for a change list, too) is a custom page.
STANDARD_VIEWS = ("changelist_view", "add_view", "history_view", "delete_view", "change_view")


def test_every_custom_page_is_tried_above(pages):
    custom = {
        pattern.name
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label == "omnichannel"
        for pattern in model_admin.get_urls()
        if pattern.name and pattern.callback.__name__ not in STANDARD_VIEWS
    }
    assert custom == set(pages)


def test_without_the_contact_permission_previews_use_the_sample_and_dry_runs_refuse():
    flow = make_flow()
    step = flow.steps.get()
    StepContent.objects.filter(step=step).update(subject="Hi {{ contact.first_name }}")
    ann = ContactFactory(first_name="Ann")
    codenames = ["view_flow", "view_step", "change_step"]
    client = staff("author", permissions=Permission.objects.filter(codename__in=codenames))
    preview = client.get(
        reverse("admin:omnichannel_step_preview", args=[step.pk]), {"contact": ann.pk}
    )
    html = preview.content.decode()
    assert "Hi Alex" in html and "Hi Ann" not in html
    assert "You may not view contacts: showing the sample contact instead." in html
    assert client.get(reverse("admin:omnichannel_flow_dry_run", args=[flow.pk])).status_code == 403
    assert (
        "Dry run"
        not in client.get(reverse("admin:omnichannel_flow_change", args=[flow.pk])).content.decode()
    )
    sent = client.post(
        reverse("admin:omnichannel_step_send_test", args=[step.pk]),
        {"content": step.contents.get().pk, "contact": ann.pk},
    )
    assert sent.status_code == 403 and not Message.objects.exists()


def test_the_flow_page_offers_only_the_buttons_the_user_may_press(people):
    flow = make_flow()
    url = reverse("admin:omnichannel_flow_change", args=[flow.pk])
    pause = reverse("admin:omnichannel_flow_do", args=[flow.pk, "pause"])
    assert pause not in people["viewer"].get(url).content.decode()
    assert pause in people["marketer"].get(url).content.decode()


# --- requeueing ------------------------------------------------------------------------

REQUEUE = "admin:omnichannel_message_changelist"


def failed_message(**fields):
    contact = fields.pop("contact", None) or ContactFactory()
    now = timezone.now()
    values = {
        "channel": "email",
        "status": MessageStatus.FAILED,
        "scheduled_at": now - timedelta(hours=1),
        "attempts": 5,
        "last_error": "gave up after 5 attempts: 503",
        "handed_at": now - timedelta(minutes=50),
        **fields,
    }
    return Message.objects.create(
        contact=contact, idempotency_key=f"m-{Message.objects.count()}", **values
    )


@pytest.fixture
def requeuer():
    """A support member who may requeue messages (and see them)."""
    perms = Permission.objects.filter(codename__in=["view_message", "requeue_message"])
    return staff("support", permissions=perms)


def feedback(response):
    return [str(message) for message in response.context["messages"]]


def test_requeue_gives_a_fresh_retry_budget_and_keeps_the_history(requeuer):
    now = timezone.now()
    message = failed_message(expires_at=now + timedelta(hours=3))
    response = run(requeuer, REQUEUE, "requeue", [message.pk])
    assert feedback(response) == ["1 message requeued."]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error, message.handed_at) == (
        "queued", 0, "", None,
    )  # fmt: skip
    assert abs(message.expires_at - (now + timedelta(hours=3))) < timedelta(seconds=1)
    event = DeliveryEvent.objects.get(message=message)
    assert event.kind == "queued"
    assert event.detail == (
        "requeued by support (was failed after 5 attempts: gave up after 5 attempts: 503)"
    )
    assert event.raw["previous_attempts"] == 5 and event.raw["requeued_by"] == "support"
    entry = LogEntry.objects.get(object_id=str(message.pk))
    assert (entry.user.username, entry.action_flag, entry.change_message) == (
        "support", CHANGE, "Requeued.",
    )  # fmt: skip


def test_requeue_refuses_expired_and_unfinished_messages_and_counts_them(requeuer):
    now = timezone.now()
    ready = [failed_message(), failed_message(status=MessageStatus.CANCELLED)]
    expired = [
        failed_message(status=MessageStatus.EXPIRED, expires_at=now - timedelta(minutes=1)),
        failed_message(expires_at=now - timedelta(minutes=1)),  # failed, then its time ran out
    ]
    sent = failed_message(status=MessageStatus.SENT, last_error="")
    pks = [m.pk for m in [*ready, *expired, sent]]
    response = run(requeuer, REQUEUE, "requeue", pks)
    assert feedback(response) == [
        "2 messages requeued. 1 skipped: only failed or cancelled messages can be requeued. "
        "2 skipped: expired (they would arrive out of context; queue new messages instead)."
    ]
    statuses = dict(Message.objects.filter(pk__in=pks).values_list("pk", "status"))
    assert [statuses[m.pk] for m in [*ready, *expired, sent]] == [
        "queued", "queued", "expired", "failed", "sent",
    ]  # fmt: skip
    assert all(m.expires_at == Message.objects.get(pk=m.pk).expires_at for m in expired)


def test_an_uncertain_message_is_requeued_only_after_confirmation(requeuer):
    uncertain = failed_message(
        last_error=UNCERTAIN_REASON, provider="twilio", provider_message_id="SM123", attempts=1
    )
    certain = failed_message()
    pks = [uncertain.pk, certain.pk]

    page = run(requeuer, REQUEUE, "requeue", pks)
    html = page.content.decode()
    assert "Check the provider" in html and "SM123" in html
    assert 'name="outcome_unknown" value="requeue"' in html
    assert Message.objects.filter(status="queued").count() == 0  # nothing happened yet

    skipped = run(requeuer, REQUEUE, "requeue", pks, outcome_unknown="skip")
    assert feedback(skipped) == [
        "1 message requeued. 1 skipped: outcome unknown, check the provider's log first."
    ]
    uncertain.refresh_from_db()
    assert uncertain.status == "failed" and uncertain.last_error == UNCERTAIN_REASON

    confirmed = run(requeuer, REQUEUE, "requeue", [uncertain.pk], outcome_unknown="requeue")
    assert feedback(confirmed) == ["1 message requeued."]
    uncertain.refresh_from_db()
    assert uncertain.status == "queued"
    event = DeliveryEvent.objects.get(message=uncertain)
    assert event.raw["outcome_unknown"] is True and event.raw["requeued_by"] == "support"
    assert UNCERTAIN_REASON in event.detail
    entry = LogEntry.objects.get(object_id=str(uncertain.pk))
    assert entry.user.username == "support" and "outcome was unknown" in entry.change_message


def test_lifting_a_suppression_is_logged(people):
    suppression = Suppression.objects.create(address="gone@example.com", channel="email")
    response = run(
        people["superuser"], "admin:omnichannel_suppression_changelist", "lift", [suppression.pk]
    )
    assert feedback(response) == ["1 suppression lifted."]
    entry = LogEntry.objects.get(object_id=str(suppression.pk))
    assert (entry.user.username, entry.action_flag) == ("boss", DELETION)
