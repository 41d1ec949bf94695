"""Input the JSON endpoints must refuse with a 400 that says what is wrong, never a 5xx."""

import json
import uuid
from importlib import import_module

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.urls import reverse
from rest_framework import serializers

from omnichannel.api.parsers import MAX_DEPTH
from omnichannel.models import Contact, PushSubscription

from .conftest import ORIGIN

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_forms")]

NOT_AN_ID = "Not a valid id: send the id the page was given, unchanged."


def ids(popup):
    return {"popup": str(popup.uuid), "variant": str(popup.variants.get().uuid)}


def nested(depth):
    return "[" * depth + "]" * depth


class TestUndecodableJSON:
    @pytest.mark.parametrize(
        "template",
        [
            '{"popup": "%(popup)s", "variant": "%(variant)s", "kind": "\\ud800"}',
            '{"popup": "%(popup)s", "variant": "\\udfff"}',
            '{"popup": "%(popup)s", "variant": "%(variant)s", "\\ud800": 1, "kind": "close"}',
        ],
    )
    def test_a_lone_surrogate_is_400(self, api, popup, template):
        response = api.post("popup-events", template % ids(popup))
        assert response.status_code == 400
        assert "lone surrogate" in response.json()["detail"]

    def test_a_lone_surrogate_in_a_subscription_is_400(self, api, popup):
        body = json.dumps({**ids(popup), "token": api.show(popup.variants.get())})
        body = body[:-1] + ', "extra": {"first_name": "\\ud83d"}}'
        response = api.post("popup-subscribe", body)
        assert response.status_code == 400
        assert "lone surrogate" in response.json()["detail"]

    @pytest.mark.parametrize(
        "name",
        ["omnichannel:popup-events", "omnichannel:push-subscriptions", "omnichannel:push_clicked"],
    )
    def test_json_nested_100000_deep_is_400(self, client, name):
        response = client.post(
            reverse(name), nested(100_000), content_type="application/json", HTTP_ORIGIN=ORIGIN
        )
        assert response.status_code == 400
        assert f"nested more than {MAX_DEPTH} deep" in response.json()["detail"]

    def test_nesting_is_refused_one_level_past_the_limit(self, api, popup):
        within = api.post("popup-events", {**ids(popup), "kind": json.loads(nested(MAX_DEPTH - 1))})
        # Parsed, then refused by the serializer for what it is: not a kind.
        assert within.status_code == 400 and "kind" in within.json()
        beyond = api.post("popup-events", {**ids(popup), "kind": json.loads(nested(MAX_DEPTH))})
        assert beyond.status_code == 400
        assert "nested" in beyond.json()["detail"]


class TestIds:
    @pytest.mark.parametrize("field, value", [("popup", 12), ("variant", "abc"), ("variant", [1])])
    def test_a_malformed_id_names_its_field(self, api, popup, field, value):
        response = api.post("popup-events", {**ids(popup), field: value, "kind": "impression"})
        assert response.status_code == 400
        assert response.json() == {field: [NOT_AN_ID]}

    def test_a_well_formed_id_of_no_popup_is_no_longer_available(self, api, popup):
        response = api.post(
            "popup-events", {**ids(popup), "variant": str(uuid.uuid4()), "kind": "impression"}
        )
        assert response.status_code == 400
        assert response.json()["non_field_errors"] == [
            "This popup is no longer available. Reload the page."
        ]


class TestLimits:
    @pytest.fixture
    def named(self, popup):
        popup.extra_fields = [
            {"name": "first_name", "label": "First name"},
            {"name": "last_name", "label": "Last name"},
        ]
        popup.save()
        return popup.variants.get()

    @pytest.mark.parametrize("name", ["first_name", "last_name"])
    def test_a_name_longer_than_its_column_is_400_not_try_again(self, api, named, name):
        limit = Contact._meta.get_field(name).max_length
        too_long = api.subscribe(
            named, email="ann@example.com", consents=["email"], extra={name: "x" * (limit + 1)}
        )
        assert too_long.status_code == 400
        assert too_long.json() == {
            "extra": {name: [f"Ensure this field has no more than {limit} characters."]}
        }
        assert not Contact.objects.exists()
        fits = api.subscribe(
            named, email="ann@example.com", consents=["email"], extra={name: "x" * limit}
        )
        assert fits.status_code == 201, fits.content
        assert getattr(Contact.objects.get(), name) == "x" * limit


# The models whose columns the API's serializers fill, found by field name.
WRITTEN_MODELS = (Contact, PushSubscription)
API_MODULES = ("serializers", "push", "inbox", "views")


def api_serializers():
    found = set()
    for name in API_MODULES:
        module = import_module(f"omnichannel.api.{name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, serializers.Serializer)
                and value.__module__ == module.__name__
            ):
                found.add(value)
    return found


def walk(field, name):
    """(name, field) of ``field`` and of every field inside it."""
    yield name, field
    if isinstance(field, serializers.Serializer):
        for child_name, child in field.fields.items():
            yield from walk(child, child_name)
    elif isinstance(field, serializers.ListField | serializers.DictField):
        yield from walk(field.child, name)


def column(name):
    for model in WRITTEN_MODELS:
        try:
            return model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
    return None


def test_every_serializer_limit_is_its_columns():
    checked, wrong = set(), []
    for serializer_class in api_serializers():
        for name, field in walk(serializer_class(), serializer_class.__name__):
            model_field = column(name)
            limit = getattr(model_field, "max_length", None)
            if field.read_only or not limit:
                continue
            checked.add(name)
            if getattr(field, "max_length", None) != limit:
                wrong.append(
                    f"{serializer_class.__name__}.{name}: {getattr(field, 'max_length', None)} "
                    f"!= {model_field.model.__name__}.{name} {limit}"
                )
    assert wrong == []
    # The walk reached what the API writes (and is no test of nothing).
    assert checked >= {"email", "phone", "endpoint", "p256dh", "auth"}
