"""Erasure: nothing personal left anywhere, figures intact, nothing left to send."""

from collections import Counter
from decimal import Decimal
from io import StringIO

import pytest
from anymail.signals import AnymailTrackingEvent
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone

from omnichannel import signals
from omnichannel.carts.carts import live_contact_id
from omnichannel.contacts.privacy.erasure import describe, erase_contact, erased_contacts
from omnichannel.models import (
    CartSnapshot,
    Consent,
    ConsentEvent,
    Contact,
    DeliveryEvent,
    Enrollment,
    Erasure,
    InboundMessage,
    Message,
    PopupEvent,
    PopupSignup,
    ProductAlert,
    ProductView,
    PushSubscription,
    Suppression,
    TrackedOrder,
)
from omnichannel.models.privacy import ERASED_CONTACT_UUID
from omnichannel.testing.factories import ContactFactory
from omnichannel.webhooks.email_tracking import handle_tracking

from . import EMAIL, NEEDLES, PHONE, build_history, rows_mentioning

pytestmark = pytest.mark.django_db


# Every model whose rows point at a contact, with an export section and an erasure step.
COVERED = {
    CartSnapshot, Consent, ConsentEvent, Enrollment, InboundMessage, Message, PopupEvent,
    PopupSignup, ProductAlert, ProductView, PushSubscription, Suppression, TrackedOrder,
}  # fmt: skip


@pytest.fixture
def history():
    return build_history()


def test_every_model_pointing_at_contacts_is_covered():
    """A new foreign key to Contact needs a decision: what export and erasure do with it."""
    pointing = {relation.related_model for relation in Contact._meta.related_objects}
    assert pointing - COVERED == set(), "add it to omnichannel.contacts.privacy.export and .erasure"


def message_figures():
    return Counter(
        {
            (row["channel"], row["status"]): (row["n"], row["cost"])
            for row in Message.objects.values("channel", "status")
            .annotate(n=Count("id"), cost=Sum("cost"))
            .order_by()
        }
    )


def test_nothing_personal_is_left_in_any_table(history):
    erase_contact(history.contact, by="staff")
    # The suppression of their number is kept on purpose (see omnichannel.contacts.privacy.erasure).
    assert rows_mentioning(NEEDLES, skip=[("Suppression", "address")]) == []
    assert list(Suppression.objects.values_list("address", "contact")) == [(PHONE, None)]


def test_figures_stay_whole(history):
    figures = message_figures()
    figures[("email", "cancelled")] = figures.pop(("email", "queued"))  # the pending one
    order_totals = TrackedOrder.objects.aggregate(Sum("total"))
    cart_values = CartSnapshot.objects.aggregate(Sum("value"))
    events = Counter(DeliveryEvent.objects.values_list("kind", flat=True))
    popup_events = PopupEvent.objects.count()

    erase_contact(history.contact, by="staff")

    assert message_figures() == figures
    assert TrackedOrder.objects.aggregate(Sum("total")) == order_totals
    assert CartSnapshot.objects.aggregate(Sum("value")) == cart_values
    assert Counter(DeliveryEvent.objects.values_list("kind", flat=True)) == events + Counter(
        ["cancelled"]
    )
    assert PopupEvent.objects.count() == popup_events
    placeholder = Contact.objects.get(uuid=ERASED_CONTACT_UUID)
    assert set(Message.objects.values_list("contact", flat=True)) == {placeholder.pk}
    assert (placeholder.email, placeholder.phone, placeholder.user_id) == (None, None, None)


def test_pending_messages_are_cancelled_and_flows_exited_first(history):
    erasure = erase_contact(history.contact, by="staff")
    history.pending.refresh_from_db()
    assert history.pending.status == "cancelled"
    assert list(history.pending.events.values_list("kind", flat=True)) == ["cancelled"]
    assert erasure.counts["cancelled"] == {"omnichannel.Message": 1}
    assert erasure.counts["exited"] == {"omnichannel.Enrollment": 1}
    assert not Enrollment.objects.exists()


def test_what_is_kept_is_anonymised(history):
    old_uuid = history.delivered.uuid
    erase_contact(history.contact, by="staff")
    delivered = Message.objects.get(pk=history.delivered.pk)
    assert (delivered.status, delivered.channel, delivered.cost) == (
        "delivered",
        "email",
        Decimal("0.001"),
    )
    assert (delivered.to, delivered.rendered, delivered.context, delivered.content) == (
        "", {}, {}, {},
    )  # fmt: skip
    assert delivered.uuid != old_uuid and delivered.provider_message_id == ""
    assert delivered.sent_at and delivered.idempotency_key == f"erased:{delivered.uuid}"
    event = delivered.events.get()
    assert (event.kind, event.detail, event.raw, event.provider_event_id) == (
        "opened", "", {}, None,
    )  # fmt: skip
    order = TrackedOrder.objects.get()
    assert (order.contact, order.total, order.cart_id) == (
        None,
        history.order.total,
        history.cart.pk,
    )
    for cart in CartSnapshot.objects.all():
        assert (cart.contact, cart.visitor_id, cart.lines) == (None, None, [])
    assert cart.item_count and cart.value
    replies = InboundMessage.objects.values_list("contact", "from_address", "body", "keyword")
    assert set(replies) == {(None, "", "", ""), (None, "", "", "STOP")}


def test_the_contact_and_their_consents_are_deleted(history):
    contact = history.contact
    erasure = erase_contact(contact, by="staff")
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert not Consent.objects.exists() and not ConsentEvent.objects.exists()
    assert erasure.counts["deleted"]["omnichannel.ConsentEvent"] == 3
    # Their browsing, also from before they were known.
    assert not ProductView.objects.exists()
    assert erasure.counts["deleted"]["omnichannel.ProductView"] == 2
    assert not ProductAlert.objects.exists()
    # The shop's own account is the shop's to erase (contact_erased tells it).
    assert get_user_model().objects.filter(username="zquist").exists()


def test_the_erasure_is_recorded_without_the_address(history):
    erasure = erase_contact(history.contact, by="alice")
    record = Erasure.objects.get()
    assert (record.contact_uuid, record.erased_by) == (history.contact.uuid, "alice")
    assert record.counts == erasure.counts
    assert "messages: 3 anonymised" in describe(record.counts)
    assert "suppression list: 1 kept" in describe(record.counts)


def test_the_signal_tells_the_shop_after_commit(history, django_capture_on_commit_callbacks):
    received = []
    signals.contact_erased.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            erasure = erase_contact(history.contact, by="staff")
    finally:
        signals.contact_erased.disconnect(dispatch_uid="t")
    [kwargs] = received
    assert kwargs["erasure"] == erasure
    assert (kwargs["email"], kwargs["phone"], kwargs["user_id"]) == (
        EMAIL, PHONE, history.contact.user_id,
    )  # fmt: skip


def test_the_persons_session_no_longer_finds_a_contact(history):
    pk = history.contact.pk
    erase_contact(history.contact, by="staff")
    assert live_contact_id(contact_id=pk) is None


def test_a_late_provider_event_brings_nothing_back(history):
    old_uuid = history.delivered.uuid
    erase_contact(history.contact, by="staff")
    event = AnymailTrackingEvent(
        event_type="opened", message_id="esp-1", recipient=EMAIL,
        metadata={"omnichannel_message": str(old_uuid)}, esp_event={"ip": "203.0.113.77"},
        timestamp=timezone.now(),
    )  # fmt: skip
    handle_tracking(sender=None, event=event, esp_name="test")
    assert DeliveryEvent.objects.filter(kind="opened").count() == 1
    assert rows_mentioning(NEEDLES, skip=[("Suppression", "address")]) == []


def test_a_message_in_flight_loses_its_lease_so_no_worker_writes_the_address_back(history):
    Message.objects.filter(pk=history.pending.pk).update(
        status="sending", handed_at=timezone.now(), locked_by="worker-1",
        locked_until=timezone.now(),
    )  # fmt: skip
    erase_contact(history.contact, by="staff")
    message = Message.objects.get(pk=history.pending.pk)
    assert (message.status, message.locked_by, message.locked_until) == ("sending", "", None)


def test_admin_history_naming_the_contact_is_renamed(history, admin_user):
    contact = history.contact
    LogEntry.objects.create(
        user=admin_user, content_type=ContentType.objects.get_for_model(Contact),
        object_id=str(contact.pk), object_repr=str(contact), action_flag=CHANGE,
    )  # fmt: skip
    LogEntry.objects.create(
        user=admin_user, content_type=ContentType.objects.get_for_model(Message),
        object_id=str(history.sms.pk), object_repr=f"SMS to {PHONE}", action_flag=CHANGE,
    )  # fmt: skip
    erase_contact(contact, by="staff")
    assert set(LogEntry.objects.values_list("object_repr", flat=True)) == {
        f"(erased contact {contact.uuid})"
    }


def test_erasing_several_contacts_shares_one_placeholder_and_spares_others():
    keep = ContactFactory(consents=["email"])
    for contact in (ContactFactory(), ContactFactory(phone="+33623456789")):
        erase_contact(contact, by="staff")
    assert Contact.objects.filter(uuid=ERASED_CONTACT_UUID).count() == 1
    assert list(Contact.objects.exclude(uuid=ERASED_CONTACT_UUID)) == [keep]
    assert keep.consents.count() == 1


def test_the_placeholder_cannot_be_erased():
    with pytest.raises(ValueError, match="placeholder"):
        erase_contact(erased_contacts(), by="staff")


# --- admin action --------------------------------------------------------------------------


def test_admin_asks_for_confirmation_then_erases_with_a_count(admin_client, history):
    other = ContactFactory()
    changelist = reverse("admin:omnichannel_contact_changelist")
    selected = {"action": "erase", "_selected_action": [history.contact.pk, other.pk]}
    page = admin_client.post(changelist, selected)
    assert page.status_code == 200
    assert "admin/omnichannel/contact/erase_confirmation.html" in [t.name for t in page.templates]
    assert EMAIL in page.content.decode() and other.email in page.content.decode()
    assert Contact.objects.filter(pk=history.contact.pk).exists()  # nothing done yet

    done = admin_client.post(changelist, {**selected, "post": "yes"}, follow=True)
    assert "Erased 2 contacts." in [str(m) for m in done.context["messages"]]
    assert not Contact.objects.filter(pk__in=[history.contact.pk, other.pk]).exists()
    assert set(Erasure.objects.values_list("erased_by", flat=True)) == {"admin"}


def test_admin_erase_skips_the_placeholder(admin_client):
    placeholder = erased_contacts()
    response = admin_client.post(
        reverse("admin:omnichannel_contact_changelist"),
        {"action": "erase", "_selected_action": [placeholder.pk], "post": "yes"},
        follow=True,
    )
    assert "Nothing to erase." in [str(m) for m in response.context["messages"]]
    assert not Erasure.objects.exists()


def test_admin_erase_needs_the_delete_permission(client, history):
    staff = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_contact"))
    client.force_login(staff)
    response = client.post(
        reverse("admin:omnichannel_contact_changelist"),
        {"action": "erase", "_selected_action": [history.contact.pk], "post": "yes"},
    )
    # The list again: view-only staff are offered no action at all (not even the export).
    assert response.status_code == 200
    assert "admin/change_list.html" in [template.name for template in response.templates]
    assert Contact.objects.filter(pk=history.contact.pk).exists()


# --- management command ----------------------------------------------------------------------


def erase(*args):
    out = StringIO()
    call_command("omnichannel_erase_contact", *args, stdout=out)
    return out.getvalue()


def test_command_with_yes_erases_and_says_what_was_done(history):
    out = erase("--email", EMAIL, "--yes", "--by", "dpo@shop")
    assert f"Erased contact {history.contact.uuid}." in out
    assert "messages: 1 cancelled" in out and "consent ledger: 3 deleted" in out
    assert Erasure.objects.get().erased_by == "dpo@shop"


class Terminal(StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(("answer", "erased"), [("yes", True), ("no", False), ("", False)])
def test_command_asks_at_a_terminal(history, monkeypatch, answer, erased):
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt: answer)
    if erased:
        erase("--phone", PHONE)
    else:
        with pytest.raises(CommandError, match="Nothing erased"):
            erase("--phone", PHONE)
    assert Contact.objects.filter(pk=history.contact.pk).exists() is not erased


def test_command_refuses_to_run_unattended_without_yes(history, monkeypatch):
    monkeypatch.setattr("sys.stdin", StringIO())
    with pytest.raises(CommandError, match="add --yes"):
        erase("--email", EMAIL)
    assert Contact.objects.filter(pk=history.contact.pk).exists()


def test_command_errors_for_an_unknown_contact(history):
    with pytest.raises(CommandError, match="No contact has the email"):
        erase("--email", "ghost@example.org", "--yes")
    with pytest.raises(CommandError, match="Name the contact"):
        erase("--yes")
