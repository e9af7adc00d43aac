"""Properties of the input layer every service shares, checked with generated input (hypothesis).

Whatever a client sends as a JSON body, a text field, a path or a token's claims, the
answer is the value or a 4xx in the error shape: never an exception (a 500).
"""

import json
import unicodedata

import pytest
from flask import jsonify
from hypothesis import given, settings
from hypothesis import strategies as st

from shop_common.app import create_service_app
from shop_common.auth import _caller_from_claims
from shop_common.errors import ApiError
from shop_common.paths import normalised
from shop_common.validation import MAX_ID, MAX_JSON_DEPTH, TEXT_LAYOUT, Fields, json_body
from tests.support import TEST_JWT_SECRET

EXPIRY = 2_000_000_000
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)


@pytest.fixture(scope="module")
def client():
    app = create_service_app(
        "gateway", __name__, {"TESTING": True, "JWT_SECRET_KEY": TEST_JWT_SECRET}, with_health=False
    )

    @app.post("/echo")
    def echo():
        return jsonify(json_body())

    return app.test_client()


def post(client, data):
    return client.post("/echo", data=data, content_type="application/json")


def assert_error_shape(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) <= {"error", "message", "fields"} and body["message"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_are_a_json_object_or_a_400(client, data):
    response = post(client, data)
    if response.status_code != 200:
        assert_error_shape(response, 400)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_json_value_is_echoed_when_an_object_else_a_400(client, value):
    response = post(client, json.dumps(value))
    if isinstance(value, dict):
        assert response.status_code == 200 and response.get_json() == value
    else:
        assert_error_shape(response, 400)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=5000), st.sampled_from([("[", "]"), ('{"a":', "}")]))
def test_nesting_is_refused_past_the_limit_however_deep(client, depth, brackets):
    """An object around ``depth - 1`` arrays or objects, ``depth`` levels in all: a 400 past the limit."""
    opening, closing = brackets
    response = post(client, '{"x":' + opening * (depth - 1) + "1" + closing * (depth - 1) + "}")
    if depth > MAX_JSON_DEPTH:
        assert_error_shape(response, 400)
        assert str(MAX_JSON_DEPTH) in response.get_json()["message"]
    else:
        assert response.status_code == 200


@given(st.text(max_size=40), st.booleans())
def test_a_text_field_holds_no_control_character_it_does_not_allow(text, free_text):
    allowed = TEXT_LAYOUT if free_text else frozenset()
    fields = Fields({"name": text})
    value = fields.string("name", min_length=0, allowed_controls=allowed)
    if "name" not in fields.problems:
        assert all(unicodedata.category(c) != "Cc" or c in allowed for c in value)
    elif any(unicodedata.category(c) == "Cc" and c not in allowed for c in text.strip()):
        assert "control characters" in fields.problems["name"]


@given(
    st.one_of(st.text(max_size=12), st.integers(), st.none(), st.floats(allow_nan=False)),
    st.sampled_from(["admin", "customer", "service", "root", "", None]),
)
def test_any_subject_and_role_are_a_caller_or_a_401(subject, role):
    try:
        caller = _caller_from_claims({"sub": subject, "role": role, "exp": EXPIRY})
    except ApiError as error:
        assert error.status == 401
        return
    if role == "service":
        assert caller.user_id is None and subject.startswith("service:")
    else:
        assert role in ("admin", "customer") and str(caller.user_id) == subject
        assert subject.isascii() and 1 <= caller.user_id <= MAX_ID


@given(st.text(alphabet="/ab.", max_size=20).map(lambda tail: "/" + tail))
def test_a_normalised_path_has_no_empty_segment_and_is_stable(path):
    result = normalised(path)
    assert "//" not in result and (result == "/" or not result.endswith("/"))
    assert normalised(result) == result
    assert [segment for segment in path.split("/") if segment] == [s for s in result.split("/") if s]
