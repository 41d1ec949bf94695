import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ValidationError
from django.test import override_settings

from omnichannel import signals
from omnichannel.contacts.consent import grant_consent, withdraw_consent
from omnichannel.contacts.identity import merge_contacts, resolve_contact
from omnichannel.core.normalize import normalize_email, normalize_phone
from omnichannel.integrations import identify, session
from omnichannel.models import CartSnapshot, Consent, ConsentEvent, Contact, TrackedOrder
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory

pytestmark = pytest.mark.django_db


class TestNormalisation:
    def test_email_is_trimmed_and_lowercased(self):
        assert normalize_email("  Ann@Example.COM ") == "ann@example.com"
        assert normalize_email("") is None

    def test_international_phone_becomes_e164(self):
        assert normalize_phone("+33 6 12 34 56 78") == "+33612345678"

    def test_national_phone_needs_a_region(self):
        assert normalize_phone("06 12 34 56 78", region="FR") == "+33612345678"
        with pytest.raises(ValidationError, match="country code"):
            normalize_phone("06 12 34 56 78")

    @override_settings(OMNICHANNEL={"DEFAULT_PHONE_REGION": "GB"})
    def test_default_region_setting_reads_national_numbers(self):
        assert normalize_phone("07400 123456") == "+447400123456"

    def test_impossible_number_is_refused(self):
        with pytest.raises(ValidationError, match="not a valid phone number"):
            normalize_phone("+1 555 000 0000")

    def test_same_email_in_another_case_is_the_same_contact(self):
        first = resolve_contact(email="Ann@Example.com")
        assert resolve_contact(email="ann@example.COM").pk == first.pk
        assert Contact.objects.count() == 1

    def test_admin_form_validation_normalises_phone(self):
        contact = Contact(email="x@example.com", phone="06 12 34 56 78", country="FR")
        contact.full_clean()
        assert contact.phone == "+33612345678"


class TestResolve:
    def test_creates_once_per_identifier(self):
        contact = resolve_contact(email="ann@example.com", source="popup")
        again = resolve_contact(email="ann@example.com", source="checkout")
        assert again.pk == contact.pk
        assert again.source == "popup"  # the first source is kept

    def test_guest_email_then_signup_is_one_person(self, customer):
        guest = resolve_contact(email="ann@example.com", source="checkout")
        contact = resolve_contact(user=customer, email="ann@example.com")
        assert contact.pk == guest.pk
        assert contact.user == customer
        assert Contact.objects.count() == 1

    def test_user_contact_absorbs_a_guest_contact_with_new_identifiers(self, customer):
        mine = resolve_contact(user=customer)
        guest = ContactFactory(email="ann@example.com", phone="+33612345678", first_name="Ann")
        contact = resolve_contact(user=customer, email="ann@example.com")
        assert contact.pk == mine.pk
        assert (contact.email, contact.phone, contact.first_name) == (
            "ann@example.com",
            "+33612345678",
            "Ann",
        )
        assert not Contact.objects.filter(pk=guest.pk).exists()

    def test_conflicting_identities_stay_apart(self, customer):
        mine = resolve_contact(user=customer, email="ann@example.com")
        other = ContactFactory(email="bob@example.com")
        contact = resolve_contact(user=customer, email="bob@example.com")
        assert contact.pk == mine.pk  # the user is the strongest identifier
        assert contact.email == "ann@example.com"
        assert Contact.objects.filter(pk=other.pk).exists()

    def test_profile_never_overwrites_existing_values(self):
        ContactFactory(email="ann@example.com", first_name="Ann")
        contact = resolve_contact(
            email="ann@example.com", profile={"first_name": "Annie", "country": "FR"}
        )
        assert (contact.first_name, contact.country) == ("Ann", "FR")


class TestMerge:
    def test_related_rows_move_to_the_survivor(self):
        survivor = ContactFactory(email=None, phone="+33612345678")
        other = ContactFactory(email="ann@example.com")
        cart = CartSnapshotFactory(contact=other)
        order = TrackedOrder.objects.create(
            order_key="o1", contact=other, total=10, currency="EUR", placed_at=cart.created_at
        )
        grant_consent(other, "email", source="popup", wording="Yes please")
        merged = merge_contacts(survivor, other, reason="test")
        assert merged.email == "ann@example.com"
        assert CartSnapshot.objects.get(pk=cart.pk).contact_id == survivor.pk
        assert TrackedOrder.objects.get(pk=order.pk).contact_id == survivor.pk
        assert ConsentEvent.objects.filter(contact=survivor).count() == 1
        assert Consent.objects.get(contact=survivor, channel="email").is_granted

    def test_latest_consent_decision_wins(self):
        survivor = ContactFactory(email=None, phone="+33612345678")
        other = ContactFactory()
        grant_consent(survivor, "email", source="popup")
        withdraw_consent(other, "email", source="unsubscribe")  # later
        merge_contacts(survivor, other, reason="test")
        consents = Consent.objects.filter(contact=survivor, channel="email")
        assert [c.status for c in consents] == ["withdrawn"]
        assert ConsentEvent.objects.filter(contact=survivor).count() == 2

    def test_merge_refuses_two_identities(self):
        with pytest.raises(ValueError, match="different identities"):
            merge_contacts(ContactFactory(), ContactFactory(), reason="test")

    def test_merge_sends_a_signal_after_commit(self, django_capture_on_commit_callbacks):
        received = []
        signals.contacts_merged.connect(
            lambda **kw: received.append(kw["merged"].pk), weak=False, dispatch_uid="t"
        )
        try:
            survivor, other = ContactFactory(email=None, phone="+33612345678"), ContactFactory()
            other_pk = other.pk
            with django_capture_on_commit_callbacks(execute=True):
                merge_contacts(survivor, other, reason="test")
        finally:
            signals.contacts_merged.disconnect(dispatch_uid="t")
        assert received == [other_pk]

    def test_oldest_signup_date_is_kept(self):
        survivor = ContactFactory(email=None, phone="+33612345678")
        other = ContactFactory()
        Contact.objects.filter(pk=other.pk).update(signed_up_at=other.created_at)
        merged = merge_contacts(survivor, Contact.objects.get(pk=other.pk), reason="test")
        assert merged.signed_up_at == other.created_at


def test_time_zone_falls_back_from_profile_to_phone_to_shop():
    assert str(Contact(time_zone="Asia/Tokyo", phone="+33612345678").get_time_zone()) == (
        "Asia/Tokyo"
    )
    assert str(Contact(phone="+33612345678").get_time_zone()) == "Europe/Paris"
    # A toll-free US number spans many zones: the phone says nothing, the shop default applies.
    assert str(Contact(phone="+18005550123").get_time_zone()) == "UTC"


def test_a_phone_of_another_account_never_gives_their_contact(django_user_model):
    """A new user typing someone else's phone gets their own contact, without that phone."""
    bob = django_user_model.objects.create_user("bob", "bob@example.com", "pw")
    bobs = resolve_contact(user=bob, phone="+33612345678")
    ann = django_user_model.objects.create_user("ann", "ann@example.com", "pw")
    anns = resolve_contact(user=ann, email="ann@example.com", phone="+33612345678")
    assert anns.pk != bobs.pk and anns.user == ann
    assert (anns.email, anns.phone) == ("ann@example.com", None)
    bobs.refresh_from_db()
    assert (bobs.user, bobs.phone) == (bob, "+33612345678")


class TestTypedIdentities:
    """What a visitor types names a person; it never makes them the session's contact."""

    @pytest.fixture
    def request_(self, rf):
        request = rf.post("/")
        request.session = SessionStore()
        request.user = AnonymousUser()
        return request

    def test_a_second_email_in_one_session_is_a_second_person(self, request_):
        ann = identify(request_, email="ann@example.com")
        bob = identify(request_, email="bob@example.com")
        assert bob.pk != ann.pk and bob.email == "bob@example.com"
        ann.refresh_from_db()
        assert ann.email == "ann@example.com"
        # The session follows the last one typed, and it still proves nothing.
        assert session.contact_id(request_) == bob.pk
        assert session.verified_contact_id(request_) is None

    def test_a_second_email_finds_its_existing_contact(self, request_):
        bob = ContactFactory(email="bob@example.com", first_name="Bob")
        ann = identify(request_, email="ann@example.com")
        assert identify(request_, email="bob@example.com").pk == bob.pk
        assert Contact.objects.filter(pk=ann.pk, email="ann@example.com").exists()

    def test_a_phone_that_differs_from_the_sessions_is_another_person(self, request_):
        ann = identify(request_, phone="+33612345678")
        bob = identify(request_, phone="+33698765432")
        assert bob.pk != ann.pk
        assert Contact.objects.get(pk=ann.pk).phone == "+33612345678"

    def test_an_older_session_contact_never_wins_over_the_typed_match(self, request_):
        ann = identify(request_, phone="+33612345678")
        bob = ContactFactory(email="bob@example.com", phone="+33698765432")
        assert identify(request_, email="bob@example.com").pk == bob.pk
        assert Contact.objects.get(pk=ann.pk).email is None

    def test_a_guest_without_that_identifier_still_gets_it(self, request_):
        guest = identify(request_, phone="+33612345678")
        contact = identify(request_, email="ann@example.com")
        assert contact.pk == guest.pk
        assert (contact.email, contact.phone) == ("ann@example.com", "+33612345678")
        assert Contact.objects.count() == 1
