"""Whatever a client sends, the popup API answers 2xx or 4xx, never 500."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnichannel.testing.factories import PopupFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_forms", "no_limits")]

ANSWERS = {201, 204, 400, 403, 415}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)

SUBSCRIBE_KEYS = ["popup", "variant", "token", "email", "phone", "consents", "extra", "website"]


@pytest.fixture
def no_limits(settings):
    limits = dict.fromkeys(
        ["events_per_ip", "subscribe_per_ip", "subscribe_per_email", "push_per_ip"]
    )
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "POPUP_RATE_LIMITS": limits}


@pytest.fixture
def live_variant(db):
    popup = PopupFactory(
        collect_phone=True,
        gift="percent",
        discount_value=10,
        extra_fields=[
            {"name": "birth_year", "label": "Birth year", "type": "number"},
            {"name": "country", "label": "Country", "type": "select", "choices": ["FR", "US"]},
        ],
    )
    return popup.variants.get()


def plausible_bodies(variant, token):
    """Bodies close to a real one, with each part possibly replaced by junk."""
    real = {
        "popup": st.just(str(variant.popup.uuid)),
        "variant": st.just(str(variant.uuid)),
        "token": st.just(token),
        "email": st.sampled_from(["ann@example.com", "ANN@EXAMPLE.COM ", "ann@", "", "a@b.c"]),
        "phone": st.sampled_from(["+33612345678", "0612", "+1 202 555 0143", "", "++"]),
        "consents": st.lists(st.sampled_from(["email", "sms", "push", "fax"]), max_size=3),
        "extra": st.dictionaries(
            st.sampled_from(["birth_year", "country", "nope"]),
            st.sampled_from(["1990", "FR", "x" * 300, "", "-1", "99999999999"]),
            max_size=3,
        ),
        "website": st.sampled_from(["", "http://spam.example"]),
    }
    return st.fixed_dictionaries(
        {}, optional={key: real[key] | json_values for key in SUBSCRIBE_KEYS}
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_subscribe_never_fails_with_a_server_error(api, live_variant, data):
    token = api.show(live_variant)
    body = data.draw(plausible_bodies(live_variant, token) | json_values)
    response = api.post("popup-subscribe", json.dumps(body))
    assert response.status_code in ANSWERS, (body, response.content)
    if response.status_code == 400:
        assert response.json(), "a 400 says what is wrong"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_undecodable_bodies_are_400(api, live_variant, raw):
    response = api.post("popup-subscribe", raw)
    assert response.status_code == 400, (raw, response.content)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=json_values)
def test_events_and_push_never_fail_with_a_server_error(api, live_variant, body):
    for endpoint in ("popup-events", "push-subscriptions"):
        response = api.post(endpoint, json.dumps(body))
        assert response.status_code in ANSWERS, (endpoint, body, response.content)
