"""The ready-made receivers: django.contrib.auth and allauth."""

import uuid

import pytest
from allauth.account.signals import user_signed_up
from django.contrib.auth import get_user_model, login
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.db.models.signals import post_save

from omnichannel import signals
from omnichannel.models import CartSnapshot, Contact
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()


@pytest.fixture
def signups():
    seen = []
    signals.signup_tracked.connect(
        lambda **kw: seen.append(kw["contact"].pk), weak=False, dispatch_uid="t"
    )
    yield seen
    signals.signup_tracked.disconnect(dispatch_uid="t")


@pytest.fixture
def guest_request(rf):
    """A request whose session already belongs to a guest contact with a cart."""
    guest = ContactFactory(email=None, phone="+33612345678", first_name="Ann")
    visitor = uuid.uuid4()
    request = rf.post("/accounts/login/")
    request.session = SessionStore()
    request.session["omnichannel"] = {"visitor": str(visitor), "contact": guest.pk}
    request.user = AnonymousUser()
    request.guest, request.visitor = guest, visitor
    return request


def test_new_user_becomes_a_signed_up_contact(signups):
    user = User.objects.create_user("ann", "Ann@Example.com", "pw")
    contact = Contact.objects.get(user=user)
    assert contact.email == "ann@example.com"
    assert contact.signed_up_at is not None and contact.source == "signup"
    user.first_name = "Ann"
    user.save()  # later saves are not signups
    assert signups == [contact.pk]


def test_signup_joins_the_guest_contact_with_that_email(signups):
    guest = ContactFactory(email="ann@example.com", source="popup")
    user = User.objects.create_user("ann", "ann@example.com", "pw")
    assert Contact.objects.get().pk == guest.pk
    assert Contact.objects.get().user == user
    assert signups == [guest.pk]


def test_staff_are_not_customers():
    User.objects.create_superuser("boss", "boss@example.com", "pw")
    User.objects.create_user("clerk", "clerk@example.com", "pw", is_staff=True)
    assert not Contact.objects.exists()


def test_fixture_loading_is_ignored():
    user = User(username="raw", email="raw@example.com", pk=999)
    post_save.send(sender=User, instance=user, created=True, raw=True)
    assert not Contact.objects.exists()


def test_login_folds_the_guest_session_into_the_user(guest_request):
    user = User.objects.create_user("ann", "ann@example.com", "pw")
    cart = CartSnapshotFactory(visitor_id=guest_request.visitor)
    login(guest_request, user)
    contact = Contact.objects.get(user=user)
    assert not Contact.objects.filter(pk=guest_request.guest.pk).exists()
    assert (contact.phone, contact.first_name) == ("+33612345678", "Ann")
    assert CartSnapshot.objects.get(pk=cart.pk).contact == contact
    assert guest_request.session["omnichannel"]["contact"] == contact.pk


def test_allauth_signup_merges_the_session_guest(guest_request, signups):
    user = User.objects.create_user("ann", "ann@example.com", "pw")
    user_signed_up.send(sender=User, request=guest_request, user=user)
    contact = Contact.objects.get(user=user)
    assert contact.phone == "+33612345678"
    assert Contact.objects.count() == 1
    assert signups == [contact.pk]  # post_save and allauth: one signup


def test_a_failing_receiver_never_reaches_the_shop(monkeypatch, caplog):
    def explode(*args, **kwargs):
        raise RuntimeError("database is on fire")

    monkeypatch.setattr("omnichannel.contacts.identity.resolve_contact", explode)
    user = User.objects.create_user("ann", "ann@example.com", "pw")  # must not raise
    assert user.pk
    assert "database is on fire" in caplog.text
