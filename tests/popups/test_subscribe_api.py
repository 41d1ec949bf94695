"""The subscribe endpoint: contact, consents, gift, double opt-in, and what it refuses."""

import re
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from omnichannel.conf import omnichannel_settings
from omnichannel.contacts.consent import grant_consent
from omnichannel.models import (
    CartSnapshot,
    Consent,
    ConsentEvent,
    Contact,
    PopupEvent,
    PopupFormUse,
    PopupSignup,
)
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory, PopupFactory
from sample_shop.shop.models import DiscountCode, Product

from .conftest import PopupAPI

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_forms")]

EMAIL_WORDING = "Yes, email me offers and news. I can unsubscribe anytime."


def signing_later(monkeypatch, max_age):
    """Move the clock signed tokens are checked with past ``max_age`` seconds."""
    later = time.time() + max_age + 60
    monkeypatch.setattr(signing, "time", type("Clock", (), {"time": staticmethod(lambda: later)}))


def variant_of(popup):
    return popup.variants.get()


class TestSubscribing:
    def test_creates_the_contact_with_consent_and_returns_a_code(self, api, popup, subscribed):
        response = api.subscribe(
            variant_of(popup),
            email="Ann@Example.com",
            consents=["email"],
            HTTP_USER_AGENT="Firefox/140",
            REMOTE_ADDR="203.0.113.9",
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["status"] == "subscribed"
        assert body["gift"]["kind"] == "percent"
        assert body["gift"]["code"].startswith("WELCOME")

        contact = Contact.objects.get()
        assert (contact.email, contact.source) == ("ann@example.com", f"popup:{popup.slug}")
        event = ConsentEvent.objects.get()
        assert (event.channel, event.status, event.wording) == ("email", "granted", EMAIL_WORDING)
        assert (event.ip_address, event.user_agent) == ("203.0.113.9", "Firefox/140")
        # The shop made a real, single-use code bound to the address.
        code = DiscountCode.objects.get(code=body["gift"]["code"])
        assert (code.kind, code.value, code.email) == ("percent", Decimal("10"), "ann@example.com")
        assert [(c["contact"], c["popup"], c["confirmed"]) for c in subscribed] == [
            (contact, popup, False)
        ]
        assert subscribed[0]["variant"] == variant_of(popup)
        assert PopupEvent.objects.filter(kind="submit", contact=contact).count() == 1

    def test_a_second_submission_reuses_the_code_and_sends_no_second_signal(
        self, api, popup, subscribed
    ):
        first = api.subscribe(variant_of(popup), email="ann@example.com", consents=["email"])
        second = api.subscribe(variant_of(popup), email="ann@example.com", consents=["email"])
        assert first.json()["gift"]["code"] == second.json()["gift"]["code"]
        assert DiscountCode.objects.count() == 1
        assert PopupSignup.objects.count() == 1
        assert len(subscribed) == 1

    def test_never_overwrites_a_better_profile(self, api, popup):
        ContactFactory(email="ann@example.com", first_name="Ann", country="GB", source="checkout")
        popup.extra_fields = [{"name": "first_name", "label": "First name"}]
        popup.save()
        response = api.subscribe(
            variant_of(popup),
            email="ann@example.com",
            consents=["email"],
            extra={"first_name": "A"},
        )
        assert response.status_code == 201
        contact = Contact.objects.get()
        assert (contact.first_name, contact.country, contact.source) == ("Ann", "GB", "checkout")

    def test_extra_fields_fill_the_profile_and_attributes(self, api, popup):
        popup.extra_fields = [
            {"name": "first_name", "label": "First name", "required": True},
            {"name": "birth_year", "label": "Birth year", "type": "number"},
            {"name": "frequency", "label": "How often?", "type": "select", "choices": ["weekly"]},
        ]
        popup.save()
        response = api.subscribe(
            variant_of(popup),
            email="bo@example.com",
            consents=["email"],
            extra={"first_name": "Bo", "birth_year": "1990", "frequency": "weekly"},
        )
        assert response.status_code == 201, response.content
        contact = Contact.objects.get()
        assert contact.first_name == "Bo"
        assert contact.attributes == {"birth_year": 1990, "frequency": "weekly"}

    def test_a_second_person_on_the_same_browser_gets_their_own_contact_and_consent(
        self, api, popup
    ):
        api.subscribe(variant_of(popup), email="ann@example.com", consents=["email"])
        response = api.subscribe(variant_of(popup), email="bob@example.com", consents=["email"])
        assert response.status_code == 201, response.content
        ann, bob = (
            Contact.objects.get(email="ann@example.com"),
            Contact.objects.get(email="bob@example.com"),
        )
        assert list(ConsentEvent.objects.order_by("pk").values_list("contact", flat=True)) == [
            ann.pk,
            bob.pk,
        ]
        assert PopupSignup.objects.filter(contact=bob).exists()
        # Each earned a code bound to their own address.
        assert set(DiscountCode.objects.values_list("email", flat=True)) == {
            "ann@example.com",
            "bob@example.com",
        }

    def test_links_the_visitors_cart(self, api, popup, client):
        product = Product.objects.create(name="Mug", slug="mug", price=Decimal("12.50"))
        with api.run_on_commit(execute=True):
            client.post(reverse("shop:cart_add", args=[product.pk]), {"quantity": 1})
        assert CartSnapshot.objects.get().contact is None
        api.subscribe(variant_of(popup), email="ann@example.com", consents=["email"])
        assert CartSnapshot.objects.get().contact == Contact.objects.get()

    def test_phone_and_sms_consent(self, api):
        popup = PopupFactory(collect_phone=True, gift="message")
        response = api.subscribe(
            variant_of(popup),
            email="cy@example.com",
            phone="+33 6 12 34 56 78",
            consents=["email", "sms"],
        )
        assert response.status_code == 201, response.content
        assert response.json()["gift"] == {"kind": "message", "code": None, "expires_at": None}
        assert Contact.objects.get().phone == "+33612345678"
        assert set(Consent.objects.values_list("channel", "status")) == {
            ("email", "granted"),
            ("sms", "granted"),
        }

    def test_a_broken_adapter_still_subscribes_without_a_code(
        self, api, popup, monkeypatch, caplog
    ):
        def broken(self, contact, spec):
            raise RuntimeError("the shop's discount service is down")

        monkeypatch.setattr(
            "sample_shop.shop.omnichannel_adapter.SampleShopAdapter.create_discount_code", broken
        )
        response = api.subscribe(variant_of(popup), email="ann@example.com", consents=["email"])
        assert response.status_code == 201
        assert response.json()["gift"]["code"] is None
        assert "discount service is down" in caplog.text
        assert Consent.objects.get().status == "granted"


class TestDoubleOptIn:
    @pytest.fixture
    def eu(self, settings):
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "COUNTRY_HEADER": "HTTP_CF_IPCOUNTRY"}
        return {"HTTP_CF_IPCOUNTRY": "DE"}

    def confirm_link(self):
        (message,) = mail.outbox
        return re.search(r"https://shop\.example\.com(/\S+/)", message.body).group(1)

    def test_eu_visitor_gets_a_link_not_the_gift(self, api, popup, eu, subscribed, client):
        response = api.subscribe(
            variant_of(popup), email="ann@example.com", consents=["email"], **eu
        )
        assert response.status_code == 201
        assert response.json() == {"status": "confirm", "gift": None}
        assert Consent.objects.get().status == "pending"
        assert not DiscountCode.objects.exists()
        assert subscribed == []
        (message,) = mail.outbox
        assert message.to == ["ann@example.com"]
        assert message.alternatives[0][1] == "text/html"

        link = self.confirm_link()
        # Opening the link (a mail scanner may) confirms nothing.
        page = client.get(link)
        assert page.status_code == 200 and b"Confirm my subscription" in page.content
        assert Consent.objects.get().status == "pending"

        with api.run_on_commit(execute=True):
            page = client.post(link)
        assert page.status_code == 200
        code = DiscountCode.objects.get()
        assert code.code in page.content.decode()
        assert Consent.objects.get().status == "granted"
        assert Consent.objects.get().confirmed_at is not None
        assert [(c["confirmed"], c["contact"].email) for c in subscribed] == [
            (True, "ann@example.com")
        ]
        # Clicking again shows the same gift and sends nothing more.
        with api.run_on_commit(execute=True):
            again = client.get(link)
        assert code.code in again.content.decode()
        assert DiscountCode.objects.count() == 1 and len(subscribed) == 1

    def test_the_link_is_on_the_public_address_whatever_the_host_header(
        self, api, popup, eu, settings
    ):
        settings.ALLOWED_HOSTS = ["*"]
        api.subscribe(
            variant_of(popup),
            email="ann@example.com",
            consents=["email"],
            HTTP_HOST="evil.example",
            HTTP_ORIGIN="http://evil.example",
            **eu,
        )
        (message,) = mail.outbox
        html = message.alternatives[0][0]
        assert "evil.example" not in message.body and "evil.example" not in html
        link = "https://shop.example.com" + self.confirm_link()
        assert link in message.body and link in html

    def test_country_from_the_form_decides(self, api, popup):
        popup.extra_fields = [
            {"name": "country", "label": "Country", "type": "select", "choices": ["AT", "US"]}
        ]
        popup.save()
        at = api.subscribe(
            variant_of(popup), email="a@example.com", consents=["email"], extra={"country": "AT"}
        )
        us = api.subscribe(
            variant_of(popup), email="u@example.com", consents=["email"], extra={"country": "US"}
        )
        assert (at.json()["status"], us.json()["status"]) == ("confirm", "subscribed")

    def test_popup_setting_wins_over_the_country(self, api, eu):
        never = PopupFactory(double_opt_in="never")
        always = PopupFactory(double_opt_in="always")
        assert (
            api.subscribe(variant_of(never), email="a@example.com", consents=["email"], **eu)
        ).json()["status"] == "subscribed"
        assert (
            api.subscribe(variant_of(always), email="b@example.com", consents=["email"])
        ).json()["status"] == "confirm"

    def test_a_granted_consent_is_not_turned_back_to_pending(self, api, popup, eu):
        contact = ContactFactory(email="ann@example.com")
        grant_consent(contact, "email", source="signup", wording="earlier")
        response = api.subscribe(
            variant_of(popup), email="ann@example.com", consents=["email"], **eu
        )
        assert response.json()["status"] == "confirm"
        assert Consent.objects.get().status == "granted"
        assert len(mail.outbox) == 1  # the link is how the gift is shown

    def test_no_mail_to_a_suppressed_address(self, api, popup, eu):
        from omnichannel.contacts.consent import suppress

        suppress("email", "ann@example.com", "complaint")
        api.subscribe(variant_of(popup), email="ann@example.com", consents=["email"], **eu)
        assert mail.outbox == []

    def test_a_forged_or_expired_link_is_refused(self, client, popup, settings, monkeypatch):
        signup = PopupSignup.objects.create(popup=popup, contact=ContactFactory())
        from omnichannel.core.tokens import confirmation_token

        token = confirmation_token(signup)
        assert (
            client.get(reverse("omnichannel:popup-confirm", args=[token + "x"])).status_code == 400
        )
        signing_later(monkeypatch, settings.OMNICHANNEL.get("DOUBLE_OPT_IN_MAX_AGE", 7 * 86400))
        assert client.get(reverse("omnichannel:popup-confirm", args=[token])).status_code == 400


class TestRefusals:
    def test_bad_email_and_phone_say_what_to_fix(self, api):
        popup = PopupFactory(collect_phone=True)
        response = api.subscribe(variant_of(popup), email="ann@", phone="0612", consents=["email"])
        assert response.status_code == 400
        errors = response.json()
        assert errors["email"] == ["Enter a valid email address, e.g. name@example.com."]
        assert "country code" in errors["phone"][0]

    def test_a_consent_is_required_and_must_be_offered(self, api, popup):
        nothing = api.subscribe(variant_of(popup), email="ann@example.com")
        assert nothing.status_code == 400
        assert nothing.json()["consents"] == ["Tick a box to choose how we may contact you."]
        sms = api.subscribe(variant_of(popup), email="ann@example.com", consents=["sms"])
        assert sms.status_code == 400 and "consents" in sms.json()
        assert not Contact.objects.exists()

    def test_missing_extra_field(self, api, popup):
        popup.extra_fields = [{"name": "first_name", "label": "First name", "required": True}]
        popup.save()
        response = api.subscribe(
            variant_of(popup), email="ann@example.com", consents=["email"], extra={"x": "1"}
        )
        assert response.status_code == 400
        assert response.json() == {
            "extra": {
                "first_name": ["This field is required."],
                "x": ["This popup has no such field."],
            }
        }

    def test_honeypot(self, api, popup):
        response = api.subscribe(
            variant_of(popup), email="ann@example.com", consents=["email"], website="spam.example"
        )
        assert response.status_code == 400
        assert response.json() == {"non_field_errors": ["This form was not sent by a person."]}
        assert not Contact.objects.exists()

    def test_too_fast_forged_and_expired_tokens(self, api, popup, settings, monkeypatch):
        variant = variant_of(popup)
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "POPUP_MIN_SUBMIT_SECONDS": 3}
        fast = api.subscribe(variant, email="ann@example.com", consents=["email"])
        assert fast.status_code == 400 and "quick" in fast.json()["non_field_errors"][0]

        three_seconds_ago = signing.TimestampSigner(salt="omnichannel.popups.form").sign_object(
            {"variant": str(variant.uuid), "shown_at": time.time() - 3}
        )
        ok = api.subscribe(
            variant, token=three_seconds_ago, email="ann@example.com", consents=["email"]
        )
        assert ok.status_code == 201

        forged = api.subscribe(variant, token="x" + three_seconds_ago, consents=["email"])
        assert "Reload the page" in forged.json()["non_field_errors"][0]
        other = PopupFactory().variants.get()
        wrong_popup = api.subscribe(
            variant, token=api.show(other), email="b@example.com", consents=["email"]
        )
        assert wrong_popup.status_code == 400
        shown = api.show(variant)
        signing_later(monkeypatch, settings.OMNICHANNEL.get("POPUP_FORM_MAX_AGE", 86400))
        expired = api.subscribe(variant, token=shown, email="c@example.com", consents=["email"])
        assert expired.json()["non_field_errors"] == [
            "This form has expired. Reload the page and try again."
        ]

    def test_paused_or_ended_popup(self, api, popup):
        variant = variant_of(popup)
        token = api.show(variant)
        popup.status = "paused"
        popup.save()
        response = api.subscribe(variant, token=token, email="ann@example.com", consents=["email"])
        assert response.status_code == 400
        assert "no longer available" in response.json()["non_field_errors"][0]


class TestFormTokens:
    """A form token is handed out per impression and earns at most one subscription."""

    def test_one_token_gives_one_gift_however_many_clients_send_it(
        self, api, popup, django_capture_on_commit_callbacks
    ):
        variant = variant_of(popup)
        token = api.show(variant)
        answers = [
            PopupAPI(Client(), django_capture_on_commit_callbacks).subscribe(
                variant, token=token, email=f"client{n}@example.com", consents=["email"]
            )
            for n in range(5)
        ]
        assert [answer.status_code for answer in answers] == [201, 400, 400, 400, 400]
        assert answers[0].json()["gift"]["code"]
        assert answers[1].json() == {
            "non_field_errors": ["This form was already sent. Reload the page to send it again."]
        }
        assert DiscountCode.objects.count() == 1
        assert list(PopupSignup.objects.values_list("contact__email", flat=True)) == [
            "client0@example.com"
        ]
        assert list(Consent.objects.values_list("contact__email", flat=True)) == [
            "client0@example.com"
        ]

    def test_the_same_subscription_may_send_its_form_again(self, api, popup):
        variant = variant_of(popup)
        token = api.show(variant)
        first = api.subscribe(variant, token=token, email="ann@example.com", consents=["email"])
        again = api.subscribe(variant, token=token, email="ann@example.com", consents=["email"])
        assert (first.status_code, again.status_code) == (201, 201)
        assert first.json()["gift"] == again.json()["gift"]

    def test_a_refused_form_does_not_spend_its_token(self, api, popup):
        variant = variant_of(popup)
        token = api.show(variant)
        refused = api.subscribe(variant, token=token, email="ann@", consents=["email"])
        assert refused.status_code == 400
        ok = api.subscribe(variant, token=token, email="ann@example.com", consents=["email"])
        assert ok.status_code == 201, ok.content

    def test_uses_of_expired_tokens_are_forgotten(self, api, popup):
        variant = variant_of(popup)
        api.subscribe(variant, email="ann@example.com", consents=["email"])
        max_age = omnichannel_settings.POPUP_FORM_MAX_AGE
        PopupFormUse.objects.update(used_at=timezone.now() - timedelta(seconds=max_age + 60))
        api.subscribe(variant, email="bob@example.com", consents=["email"])
        assert list(PopupFormUse.objects.values_list("signup__contact__email", flat=True)) == [
            "bob@example.com"
        ]


class TestCrossSiteRequests:
    def body(self, popup):
        variant = variant_of(popup)
        return {"popup": str(popup.uuid), "variant": str(variant.uuid), "kind": "impression"}

    def test_another_origin_is_refused(self, api, popup):
        response = api.post("popup-events", self.body(popup), HTTP_ORIGIN="https://evil.example")
        assert response.status_code == 403
        assert "shop's own pages" in response.json()["detail"]

    def test_no_origin_nor_referer_is_refused(self, api, popup):
        response = api.post("popup-events", self.body(popup), HTTP_ORIGIN="")
        assert response.status_code == 403

    def test_referer_of_this_site_is_enough(self, api, popup):
        response = api.post(
            "popup-events",
            self.body(popup),
            HTTP_ORIGIN="",
            HTTP_REFERER="http://testserver/products/",
        )
        assert response.status_code == 201

    def test_trusted_origins_are_accepted(self, api, popup, settings):
        settings.CSRF_TRUSTED_ORIGINS = ["https://*.shop.example"]
        response = api.post(
            "popup-events", self.body(popup), HTTP_ORIGIN="https://www.shop.example"
        )
        assert response.status_code == 201

    def test_a_form_post_is_refused(self, api, popup):
        # What a cross-site <form> can send: not JSON.
        response = api.post(
            "popup-events",
            "kind=impression",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 415


class TestRateLimits:
    def test_per_ip(self, api, popup, settings):
        settings.OMNICHANNEL = {
            **settings.OMNICHANNEL,
            "POPUP_RATE_LIMITS": {"subscribe_per_ip": "2/hour"},
        }
        variant = variant_of(popup)
        statuses = [
            api.subscribe(variant, email=f"p{n}@example.com", consents=["email"]).status_code
            for n in range(3)
        ]
        assert statuses == [201, 201, 429]
        response = api.subscribe(variant, email="x@example.com", consents=["email"])
        assert "Too many attempts" in response.json()["detail"]
        assert int(response["Retry-After"]) > 0

    def test_per_email_across_ips(self, api, popup, settings):
        settings.OMNICHANNEL = {
            **settings.OMNICHANNEL,
            "POPUP_RATE_LIMITS": {"subscribe_per_email": "1/hour"},
        }
        variant = variant_of(popup)
        first = api.subscribe(variant, email="ann@example.com", consents=["email"])
        other_ip = api.subscribe(
            variant, email=" ANN@example.com", consents=["email"], REMOTE_ADDR="198.51.100.1"
        )
        other_address = api.subscribe(variant, email="bo@example.com", consents=["email"])
        assert (first.status_code, other_ip.status_code, other_address.status_code) == (
            201,
            429,
            201,
        )


def test_events_count_impressions_and_closes(api, popup):
    variant = variant_of(popup)
    api.show(variant)
    body = {"popup": str(popup.uuid), "variant": str(variant.uuid), "kind": "close"}
    assert api.post("popup-events", body).status_code == 204
    assert sorted(PopupEvent.objects.values_list("kind", flat=True)) == ["close", "impression"]


def test_an_unknown_cart_does_not_block_the_subscription(api, popup):
    CartSnapshotFactory()  # someone else's cart stays theirs
    api.subscribe(variant_of(popup), email="ann@example.com", consents=["email"])
    assert CartSnapshot.objects.get().contact is None
