"""The client contract against the five real processes, through the gateway.

- The Postman collection (docs/postman), run by newman: the whole journey and the main refusals.
- A schemathesis pass over docs/openapi.yaml: generated requests, valid and invalid, to every
  operation, as the admin; no answer may be a 5xx, and each must have a documented status,
  content type, headers and body.

``make fuzz`` runs the schemathesis test longer against a running stack: with
``CONTRACT_BASE_URL`` set, that gateway and the admin of the settings (``.env``) are used
instead of this session's stack.
"""

import os
import time
import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, assume, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api_gateway.docs import OPENAPI_DOCUMENT
from shop_common.settings import load_settings
from tests.journeys import test_the_postman_collection_passes_with_newman  # noqa: F401 (the e2e run of it)
from tests.stacks import ADMIN_PASSWORD, ADMIN_USERNAME

# Per operation and generation phase: about 12 s for all 25 operations. make fuzz asks for more.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# The HTTP server refuses what it cannot take before the API sees it: a request line too long
# (414), too many or too large headers (431), an unknown transfer coding (501). No operation
# documents them, but they too must be in the error shape (shop_common/worker_common.py).
HTTP_SERVER_REFUSALS = frozenset({414, 431, 501})
# Random header names must not reframe the message: a wrong Content-Length would hang the request.
FRAMING_HEADERS = frozenset({"transfer-encoding", "content-length"})
BCRYPT_MAX_BYTES = 72


class Target:
    """The gateway under test and its admin, whose access token is renewed with the login's
    refresh token shortly before it expires: a long fuzz run outlives one."""

    def __init__(self, gateway, login):
        self.gateway = gateway.rstrip("/")
        self.admin_id = login["user"]["id"]
        self._keep(login)

    def _keep(self, pair):
        self.admin_token, self.refresh_token = pair["access_token"], pair["refresh_token"]
        self.renew_at = time.monotonic() + pair["expires_in"] - 60

    @property
    def admin_headers(self):
        if time.monotonic() >= self.renew_at:
            refreshed = requests.post(
                f"{self.gateway}/api/users/refresh", json={"refreshToken": self.refresh_token}, timeout=10
            )
            assert refreshed.status_code == 200, refreshed.text
            self._keep(refreshed.json())
        return {"Authorization": f"Bearer {self.admin_token}"}


@pytest.fixture(scope="module")
def target(request):
    """The gateway under test and its admin, logged in."""
    gateway = os.environ.get("CONTRACT_BASE_URL")
    if gateway:
        user_settings = load_settings("user")
        username, password = user_settings["ADMIN_USERNAME"], user_settings["ADMIN_PASSWORD"]
    else:
        gateway, username, password = request.getfixturevalue("stack").gateway, ADMIN_USERNAME, ADMIN_PASSWORD
    login = requests.post(f"{gateway}/api/users/login", json={"username": username, "password": password}, timeout=10)
    assert login.status_code == 200, login.text
    return Target(gateway, login.json())


def changes_the_admin(case, target):
    """Renaming or deleting the admin the fuzzer acts as would lock out every later test."""
    return (
        case.path == "/api/users/{user_id}"
        and case.method in ("PUT", "DELETE")
        and str(case.path_parameters["user_id"]) == str(target.admin_id)
    )


def ends_a_login(case):
    """Logging the admin the fuzzer acts as out would refuse every later case: a throw-away user logs out."""
    return case.path in ("/api/users/logout", "/api/users/logout-all")


def throwaway_login_headers(target):
    username, password = f"contract-{uuid.uuid4().hex[:12]}", "contract-password-1"
    requests.post(f"{target.gateway}/api/users/register", json={"username": username, "password": password}, timeout=10)
    login = requests.post(
        f"{target.gateway}/api/users/login", json={"username": username, "password": password}, timeout=10
    )
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def sends_framing_headers(case):
    return any(name.lower() in FRAMING_HEADERS for name in case.headers or {})


# Loaded from the file at collection, so each operation is its own test; the gateway is known only
# at run time and is given per call. (schemathesis.pytest.from_fixture would wait for a fixture,
# but 4.32 reads Node._nodeid, which pytest 9 removed.)
contract = schemathesis.openapi.from_path(OPENAPI_DOCUMENT)


@contract.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
def test_every_answer_is_as_documented(case, target):
    assume(not changes_the_admin(case, target))
    assume(not sends_framing_headers(case))
    headers = throwaway_login_headers(target) if ends_a_login(case) else target.admin_headers
    response = case.call(base_url=target.gateway, headers=headers, timeout=30)
    if response.status_code in HTTP_SERVER_REFUSALS:
        assert response.headers["Content-Type"] == "application/json", response.text[:200]
        assert set(response.json()) == {"error", "message"}, response.text[:200]
        return
    case.validate_response(response, checks=CHECKS)


@pytest.mark.parametrize(
    "method, path", [("GET", "/api/products/%23x"), ("GET", "/api/products/%3Fx"), ("DELETE", "/api/products/%3F")]
)
def test_an_encoded_question_mark_or_hash_in_a_path_id_is_a_404(target, method, path):
    response = requests.request(method, target.gateway + path, headers=target.admin_headers, timeout=10)
    assert response.status_code == 404, (response.status_code, response.text[:200])


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/users/login", '{"username": "admin", "password": "long-enough\\ud800"}'),
        ("/api/users/register", '{"username": "surrogate", "password": "long-enough\\ud800"}'),
        ("/api/products", '{"name": "mug\\ud800", "price": "1.00"}'),
        ("/api/customers", '{"userId": 1, "name": "A\\ud800", "email": "a@example.com"}'),
    ],
)
def test_a_lone_surrogate_in_a_json_string_is_a_400(target, path, body):
    response = requests.post(
        target.gateway + path,
        data=body,
        timeout=10,
        headers={**target.admin_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400, (response.status_code, response.text[:200])


@pytest.mark.parametrize("username", [ADMIN_USERNAME, "nobody-at-all"])
def test_a_login_with_a_password_over_72_bytes_is_a_401(target, username):
    response = requests.post(
        f"{target.gateway}/api/users/login",
        timeout=10,
        json={"username": username, "password": "x" * (BCRYPT_MAX_BYTES + 1)},
    )
    assert response.status_code == 401, (response.status_code, response.text[:200])
