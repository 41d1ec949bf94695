"""The "notify me" endpoint of a product page: validated, rate limited, one alert each."""

import pytest

from omnichannel.models import Contact, ProductAlert

pytestmark = pytest.mark.django_db


def ask(api, **fields):
    """Send the form; upper-case keywords are request headers."""
    headers = {name: value for name, value in fields.items() if name.isupper()}
    body = {name: value for name, value in fields.items() if not name.isupper()}
    return api.post(
        "product-notify-me", {"email": "Ann@Example.com", "product_id": "7", **body}, **headers
    )


def test_asking_records_the_contact_and_one_alert(api):
    response = ask(api)
    assert (response.status_code, response.json()) == (201, {"status": "requested"})
    contact = Contact.objects.get()
    assert contact.email == "ann@example.com"
    alert = ProductAlert.objects.get()
    assert (alert.contact, alert.product_id, alert.kind, alert.notified_at) == (
        contact,
        "7",
        "back_in_stock",
        None,
    )
    assert ask(api, kind="price_drop").status_code == 201
    assert ask(api).status_code == 201  # asking twice is one request
    assert sorted(ProductAlert.objects.values_list("kind", flat=True)) == [
        "back_in_stock",
        "price_drop",
    ]


def test_asking_again_after_a_notice_asks_for_the_next_one(api):
    ask(api)
    ProductAlert.objects.update(notified_at="2026-01-01T00:00:00Z")
    ask(api)
    assert ProductAlert.objects.get().notified_at is None


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address"),
        ({"product_id": ""}, "product_id", "This field may not be blank."),
        ({"product_id": "x" * 65}, "product_id", "no more than 64 characters"),
        ({"kind": "sale"}, "kind", "is not a valid choice"),
        ({"website": "http://spam.example"}, "non_field_errors", "not sent by a person"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, fields, field, message):
    response = ask(api, **fields)
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not ProductAlert.objects.exists()


def test_it_answers_only_the_shop_s_own_pages(api):
    assert ask(api, HTTP_ORIGIN="https://evil.example").status_code == 403


def test_one_address_cannot_be_flooded(api, settings):
    settings.OMNICHANNEL = {
        **settings.OMNICHANNEL,
        "POPUP_RATE_LIMITS": {"subscribe_per_email": "2/hour"},
    }
    statuses = [ask(api, product_id=str(n)).status_code for n in range(3)]
    assert statuses == [201, 201, 429]
