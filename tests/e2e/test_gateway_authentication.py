"""The gateway's token check: protected routes need a valid token before any service is called."""

import pytest

from tests.e2e.gateway_helpers import (
    BAD_TOKENS,
    assert_json_error,
    request_id,
)

# --- 2. the token check -----------------------------------------------------------------------------

# Every protected route (README, API), and the service that owns it.
PROTECTED_ROUTES = [
    ("GET", "/api/users", "user"),
    ("GET", "/api/users/1", "user"),
    ("PUT", "/api/users/1", "user"),
    ("DELETE", "/api/users/1", "user"),
    ("POST", "/api/customers", "customer"),
    ("GET", "/api/customers", "customer"),
    ("GET", "/api/customers/1", "customer"),
    ("PUT", "/api/customers/1", "customer"),
    ("DELETE", "/api/customers/1", "customer"),
    ("GET", "/api/customers/user/1", "customer"),
    ("POST", "/api/products", "product"),
    ("PUT", "/api/products/1", "product"),
    ("DELETE", "/api/products/1", "product"),
    ("POST", "/api/transactions", "transaction"),
    ("GET", "/api/transactions", "transaction"),
    ("GET", "/api/transactions/1", "transaction"),
    ("GET", "/api/transactions/customer/1", "transaction"),
    ("PUT", "/api/transactions/1/status", "transaction"),
    ("DELETE", "/api/transactions/1", "transaction"),
    ("GET", "/api/payments", "payment"),
]


@pytest.mark.parametrize("credentials", ["none", *BAD_TOKENS])
def test_every_protected_route_is_refused_at_the_gateway_without_a_valid_token(api, stack, credentials):
    headers = {} if credentials == "none" else {"Authorization": f"Bearer {BAD_TOKENS[credentials]()}"}
    sent = []
    for method, path, service in PROTECTED_ROUTES:
        sent_id = request_id(f"door-{credentials}")
        response = api.request(method, path, json={}, headers={**headers, "X-Request-ID": sent_id})
        assert_json_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"] == "Bearer"
        sent.append((sent_id, service))
    gateway_log, service_logs = stack.log("gateway"), {}
    for sent_id, service in sent:
        service_logs.setdefault(service, stack.log(service))
        assert sent_id in gateway_log and sent_id not in service_logs[service], (sent_id, service)


@pytest.mark.parametrize("credentials", ["none", "expired"])
def test_public_routes_reach_their_service_with_or_without_a_token(api, stack, credentials):
    headers = {} if credentials == "none" else {"Authorization": f"Bearer {BAD_TOKENS[credentials]()}"}
    for method, path, status, service in (
        ("POST", "/api/users/register", 400, "user"),
        ("POST", "/api/users/login", 400, "user"),
        ("GET", "/api/products", 200, "product"),
        ("GET", "/api/products/999999999", 404, "product"),
    ):
        sent_id = request_id("public")
        response = api.request(method, path, json={}, headers={**headers, "X-Request-ID": sent_id})
        assert response.status_code == status, (path, response.text)
        assert sent_id in stack.log(service), path
