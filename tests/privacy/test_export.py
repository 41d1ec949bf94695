"""Export: every section of a contact's data, as JSON, from the admin and the command."""

import json
import os
import stat
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from omnichannel.contacts.privacy.erasure import erased_contacts
from omnichannel.contacts.privacy.export import SCHEMA_VERSION, dumps, export_contacts
from omnichannel.outbox.queueing import enqueue
from omnichannel.testing.factories import ContactFactory

from . import EMAIL, ENDPOINT, FIRST_NAME, IP, PHONE, USER_AGENT, build_history

pytestmark = pytest.mark.django_db

SECTIONS = [
    "profile", "consents", "consent_ledger", "suppressions", "carts", "orders", "product_views",
    "product_alerts", "enrollments", "messages", "inbound_messages", "push_subscriptions",
    "popup_signups", "popup_events",
]  # fmt: skip


def exported(contact):
    """The contact's part of the export, as a reader of the JSON file sees it."""
    document = json.loads(dumps(export_contacts([contact])))
    assert document["schema"] == "omnichannel.contact-export"
    assert document["schema_version"] == SCHEMA_VERSION
    [data] = document["contacts"]
    return data


@pytest.fixture
def history():
    return build_history()


def test_every_section_is_there_in_a_fixed_order_even_when_empty():
    data = exported(ContactFactory())
    assert list(data) == SECTIONS
    assert all(data[section] == [] for section in SECTIONS[1:])


def test_profile(history):
    profile = exported(history.contact)["profile"]
    assert profile["uuid"] == str(history.contact.uuid)
    assert (profile["email"], profile["phone"]) == (EMAIL, PHONE)
    assert (profile["first_name"], profile["shop_user"]) == (FIRST_NAME, "zquist")
    assert profile["attributes"] == {"tags": ["vip"]}
    assert profile["external_ids"] == {"crm": "Q-77"}
    assert profile["created_at"].endswith("Z") and "T" in profile["created_at"]


def test_consents_and_the_full_ledger_with_their_evidence(history):
    data = exported(history.contact)
    consents = {c["channel"]: c for c in data["consents"]}
    assert consents["email"]["status"] == "granted"
    assert consents["email"]["wording"] == "Email me offers"
    assert consents["sms"]["status"] == "withdrawn" and consents["sms"]["withdrawn_at"]
    ledger = data["consent_ledger"]
    assert [(e["channel"], e["status"]) for e in ledger] == [
        ("email", "granted"), ("sms", "granted"), ("sms", "withdrawn"),
    ]  # fmt: skip
    assert {(e["ip_address"], e["user_agent"]) for e in ledger} == {(IP, USER_AGENT)}
    assert ledger[0]["source"] == "popup:welcome" and ledger[0]["wording"] == "Email me offers"


def test_suppressions_carts_and_orders(history):
    data = exported(history.contact)
    assert [(s["channel"], s["address"], s["reason"]) for s in data["suppressions"]] == [
        ("sms", PHONE, "stop")
    ]
    carts = {c["uuid"]: c for c in data["carts"]}
    assert set(carts) == {str(history.cart.uuid), str(history.visitor_cart.uuid)}
    assert carts[str(history.cart.uuid)]["lines"][0]["note"] == f"gift for {FIRST_NAME}"
    [order] = data["orders"]
    assert (order["order_key"], order["total"], order["currency"]) == ("ORD-5541", "54.90", "EUR")
    assert order["cart_uuid"] == str(history.cart.uuid)
    # What they looked at, as the contact and as the visitor they were before.
    assert [view["name"] for view in data["product_views"]] == ["Mug", "Mug"]
    [alert] = data["product_alerts"]
    assert (alert["product_id"], alert["kind"]) == ("9", "back_in_stock")


def test_enrollments_with_flow_state_and_steps(history):
    [enrollment] = exported(history.contact)["enrollments"]
    assert (enrollment["flow_name"], enrollment["flow_slug"]) == (
        "Welcome series",
        "privacy-welcome",
    )
    assert (enrollment["state"], enrollment["next_step_name"]) == ("active", "Hello")
    assert enrollment["next_step_at"] and enrollment["context"] == {"e": EMAIL}


def test_messages_with_what_was_sent_and_what_happened(history):
    messages = {m["uuid"]: m for m in exported(history.contact)["messages"]}
    delivered = messages[str(history.delivered.uuid)]
    assert (delivered["channel"], delivered["status"], delivered["to"]) == (
        "email", "delivered", EMAIL,
    )  # fmt: skip
    assert delivered["rendered"]["subject"] == f"Hi {FIRST_NAME}"
    [opened] = delivered["events"]
    assert opened["kind"] == "opened" and opened["raw"]["ip"] == IP
    assert messages[str(history.sms.uuid)]["to"] == PHONE
    assert messages[str(history.pending.uuid)]["status"] == "queued"


def test_replies_push_subscriptions_and_popups(history):
    data = exported(history.contact)
    assert [i["body"] for i in data["inbound_messages"]] == ["Thanks, Zelda here", "STOP"]
    [push] = data["push_subscriptions"]
    assert (push["endpoint"], push["user_agent"]) == (ENDPOINT, USER_AGENT)
    [signup] = data["popup_signups"]
    assert (signup["popup_slug"], signup["variant_name"], signup["discount_code"]) == (
        "privacy-popup", "A", "ZQ10",
    )  # fmt: skip
    assert [e["kind"] for e in data["popup_events"]] == ["impression", "submit"]


def test_another_contacts_data_is_not_exported(history):
    other = ContactFactory()
    enqueue(other, "email", {"text": "x"}, idempotency_key="other:1")
    data = exported(history.contact)
    assert len(data["messages"]) == 3
    assert exported(other)["consent_ledger"] == []


def test_the_number_of_queries_does_not_grow_with_the_history(history):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            export_contacts([history.contact])
        return len(captured)

    before = queries()
    for number in range(10):
        enqueue(history.contact, "email", {"text": "x"}, idempotency_key=f"more:{number}")
    assert queries() == before


# --- admin action --------------------------------------------------------------------------


def test_admin_downloads_one_contact_as_a_json_file(admin_client, history):
    response = admin_client.post(
        reverse("admin:omnichannel_contact_changelist"),
        {"action": "export_json", "_selected_action": [history.contact.pk]},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    disposition = response["Content-Disposition"]
    assert disposition == f'attachment; filename="contact-{history.contact.uuid}.json"'
    [data] = json.loads(response.content)["contacts"]
    assert data["profile"]["email"] == EMAIL and len(data["messages"]) == 3


def test_admin_exports_several_contacts_in_one_file(admin_client):
    contacts = [ContactFactory(), ContactFactory(), erased_contacts()]
    response = admin_client.post(
        reverse("admin:omnichannel_contact_changelist"),
        {"action": "export_json", "_selected_action": [c.pk for c in contacts]},
    )
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')
    emails = {c["profile"]["email"] for c in json.loads(response.content)["contacts"]}
    assert emails == {contacts[0].email, contacts[1].email}  # not the erased placeholder


# --- management command ----------------------------------------------------------------------


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("omnichannel_export_contact", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    "args",
    [
        ["--email", "Zelda.Quist@Example.org "],
        ["--phone", "+33 6 12 34 56 78"],
        ["--email", EMAIL, "--phone", PHONE],
    ],
)
def test_command_prints_the_json_alone_on_stdout(history, args):
    out, _err = run(*args)
    [data] = json.loads(out)["contacts"]
    assert data["profile"]["uuid"] == str(history.contact.uuid)


def test_command_by_uuid_writes_a_private_file(history, tmp_path):
    target = tmp_path / "zelda.json"
    out, err = run("--uuid", str(history.contact.uuid), "--output", str(target))
    assert out == "" and str(target) in err
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert json.loads(target.read_text())["contacts"][0]["profile"]["email"] == EMAIL
    with pytest.raises(CommandError, match="Cannot create"):
        run("--uuid", str(history.contact.uuid), "--output", str(target))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Name the contact by email, phone or uuid"),
        (["--email", "nobody@example.org"], "No contact has the email nobody@example.org"),
        (["--phone", "06 12 34 56 78"], "country code"),
        (["--phone", "+33 6 00"], "not a valid phone number"),
        (["--uuid", "not-a-uuid"], "is not a contact uuid"),
        (["--uuid", "00000000-0000-0000-0000-000000000000"], "No contact has the uuid"),
    ],
)
def test_command_errors_say_what_to_fix(history, args, message):
    erased_contacts()
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_identifiers_naming_two_contacts_are_ambiguous(history):
    other = ContactFactory(phone="+33623456789")
    with pytest.raises(CommandError, match="name different contacts"):
        run("--email", EMAIL, "--phone", other.phone)
