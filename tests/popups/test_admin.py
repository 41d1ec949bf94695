"""The popup builder in the admin: saving, refusing bad input, preview, figures, actions."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from omnichannel.carts.orders import record_order
from omnichannel.integrations.adapter import OrderData
from omnichannel.models import Popup, PopupEvent, PopupSignup
from omnichannel.testing.factories import ContactFactory, PopupFactory

pytestmark = pytest.mark.django_db

VARIANT = {
    "name": "A",
    "locale": "",
    "weight": "1",
    "headline": "10 % off your first order",
    "text": "",
    "image_url": "",
    "image_alt": "",
    "button_label": "Subscribe",
    "email_consent_text": "Email me offers.",
    "sms_consent_text": "",
    "push_button_label": "",
    "success_headline": "Welcome!",
    "success_text": "",
    "confirm_text": "Check your inbox.",
    "position": "modal",
    "background_colour": "#ffffff",
    "text_colour": "#1f2328",
    "accent_colour": "#1f6f5c",
}


def form_data(popup_fields=None, variants=(VARIANT,)):
    data = {
        "name": "Welcome",
        "slug": "welcome",
        "status": "active",
        "priority": "0",
        "collect_email": "on",
        "extra_fields": "[]",
        "double_opt_in": "auto",
        "gift": "percent",
        "discount_value": "10",
        "code_valid_days": "14",
        "on_exit_intent": "on",
        "min_seconds_on_page": "5",
        "min_page_views": "1",
        "url_exclude": "/checkout/*",
        "device": "all",
        "visitors": "all",
        "hide_days_after_close": "7",
        "variants-TOTAL_FORMS": str(len(variants)),
        "variants-INITIAL_FORMS": "0",
        "variants-MIN_NUM_FORMS": "1",
        "variants-MAX_NUM_FORMS": "1000",
        **(popup_fields or {}),
    }
    for index, variant in enumerate(variants):
        data.update({f"variants-{index}-{name}": value for name, value in variant.items()})
    return data


def test_staff_build_a_popup(admin_client):
    response = admin_client.post(reverse("admin:omnichannel_popup_add"), form_data())
    assert response.status_code == 302, response.context and response.context["errors"]
    popup = Popup.objects.get()
    assert popup.variants.get().headline == "10 % off your first order"


@pytest.mark.parametrize(
    "popup_fields, variant_fields, message",
    [
        ({"extra_fields": '[{"name": "Bad Name", "label": "x"}]'}, {}, "lower-case letters"),
        ({"extra_fields": "{not json"}, {}, "Enter a valid JSON"),
        ({"discount_value": ""}, {}, "Enter the discount the code gives."),
        ({"discount_value": "150"}, {}, "cannot be over 100"),
        ({"on_exit_intent": ""}, {}, "Choose at least one trigger."),
        ({"collect_email": ""}, {}, "Ask for an email, a phone number"),
        ({"url_include": "products/*"}, {}, "a path starting with /"),
        ({"countries": "France"}, {}, "not a two-letter country code"),
        ({"utm": "source=x"}, {}, "utm_name=value"),
        ({"offer_push": "on"}, {}, "VAPID_PUBLIC_KEY"),
        ({}, {"email_consent_text": ""}, "Write the consent wording"),
        ({}, {"weight": "0"}, "weight above 0"),
        ({}, {"accent_colour": "green"}, "six hexadecimal digits"),
    ],
)
def test_bad_input_gets_a_clear_error(admin_client, popup_fields, variant_fields, message):
    data = form_data(popup_fields, [{**VARIANT, **variant_fields}])
    response = admin_client.post(reverse("admin:omnichannel_popup_add"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Popup.objects.exists()


def test_live_preview_renders_the_unsaved_form(admin_client):
    data = form_data(variants=[VARIANT, {**VARIANT, "name": "B", "headline": "<b>B</b> wins"}])
    data["_preview_variant"] = "1"
    response = admin_client.post(reverse("admin:omnichannel_popup_preview"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "&lt;b&gt;B&lt;/b&gt; wins" in html and "<b>B</b>" not in html
    assert "preview: true" in html and 'role="dialog"' in html
    assert not Popup.objects.exists()
    # Half-typed input still previews.
    data["variants-1-accent_colour"] = "#12"
    assert admin_client.post(reverse("admin:omnichannel_popup_preview"), data).status_code == 200


def test_preview_needs_staff(client):
    response = client.post(reverse("admin:omnichannel_popup_preview"), form_data())
    assert response.status_code == 302  # to the admin login


def test_change_page_shows_figures_per_variant(admin_client):
    popup = PopupFactory(variants=[{"name": "A"}, {"name": "B"}])
    a, b = popup.variants.order_by("name")
    for kind, count in (("impression", 4), ("close", 1), ("submit", 2)):
        PopupEvent.objects.bulk_create(
            PopupEvent(popup=popup, variant=a, kind=kind) for _ in range(count)
        )
    contact = ContactFactory()
    signup = PopupSignup.objects.create(popup=popup, variant=a, contact=contact)
    for key, total, placed in (
        ("1", "30.00", signup.created_at + timedelta(hours=1)),
        ("0", "99.00", signup.created_at - timedelta(days=1)),  # before subscribing: not its
        ("2", "45.00", signup.created_at + timedelta(days=31)),  # after ATTRIBUTION's 30 days
    ):
        record_order(OrderData(order_key=key, total=Decimal(total), placed_at=placed), contact)
    response = admin_client.get(reverse("admin:omnichannel_popup_change", args=[popup.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<td>4</td><td>1</td><td>2</td><td>50.0%</td><td>1</td><td>30.00</td>" in html
    assert "<td>0</td><td>0</td><td>0</td><td>–</td><td>0</td><td>0.00</td>" in html
    changelist = admin_client.get(reverse("admin:omnichannel_popup_changelist"))
    assert "50.0%" in changelist.content.decode()


def test_activate_and_pause_actions_count(admin_client):
    popups = [PopupFactory(status="draft"), PopupFactory(status="draft"), PopupFactory()]
    response = admin_client.post(
        reverse("admin:omnichannel_popup_changelist"),
        {"action": "activate", "_selected_action": [p.pk for p in popups]},
        follow=True,
    )
    assert "2 popups are now active." in response.content.decode()
    assert set(Popup.objects.values_list("status", flat=True)) == {"active"}


def test_signups_are_listed_read_only(admin_client):
    popup = PopupFactory()
    signup = PopupSignup.objects.create(
        popup=popup, variant=popup.variants.get(), contact=ContactFactory(), discount_code="W1"
    )
    listing = admin_client.get(reverse("admin:omnichannel_popupsignup_changelist"))
    assert listing.status_code == 200 and "W1" in listing.content.decode()
    page = admin_client.get(reverse("admin:omnichannel_popupsignup_change", args=[signup.pk]))
    assert page.status_code == 200
    assert admin_client.get(reverse("admin:omnichannel_popupsignup_add")).status_code == 403
