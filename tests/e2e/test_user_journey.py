"""Register, log in and read oneself through the gateway, against the real processes."""

import uuid

import requests

from tests.stacks import ADMIN_PASSWORD
from tests.support import unique_name


def test_every_service_and_the_gateway_report_healthy(stack):
    for service, url in stack.urls.items():
        response = requests.get(url + "/health", timeout=5)
        assert response.status_code == 200, (service, response.text)
    assert requests.get(stack.gateway + "/health", timeout=5).json()["services"] == {
        "user": "ok",
        "customer": "ok",
        "product": "ok",
        "transaction": "ok",
        "payment": "ok",
    }


def test_register_login_and_read_oneself(api, stack):
    username, password = unique_name(), "journey-password-1"
    request_id = f"journey-{uuid.uuid4().hex}"
    registered = api.post(
        "/api/users/register", json={"username": username, "password": password}, headers={"X-Request-ID": request_id}
    )
    assert registered.status_code == 201, registered.text
    assert registered.headers["X-Request-ID"] == request_id
    user_id = registered.json()["userId"]

    login = api.post("/api/users/login", json={"username": username, "password": password})
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

    me = api.get(f"/api/users/{user_id}", headers=headers)
    assert me.status_code == 200
    assert me.json()["username"] == username and me.json()["role"] == "customer"
    assert api.get(f"/api/users/{user_id + 1}", headers=headers).status_code in (403, 404)

    for response in (registered, login, me):
        assert password not in response.text and "$2b$" not in response.text
    # The request id travelled from the client through the gateway to the user service.
    assert request_id in stack.log("gateway") and request_id in stack.log("user")


def test_the_bootstrapped_admin_lists_users(api, admin_headers):
    response = api.get("/api/users?limit=500", headers=admin_headers)
    assert response.status_code == 200
    assert "admin" in [user["username"] for user in response.json()]
    assert int(response.headers["X-Total-Count"]) >= 1


def test_the_gateway_refuses_a_protected_route_without_a_token_before_forwarding(api, stack):
    request_id = f"no-token-{uuid.uuid4().hex}"
    response = api.get("/api/users/1", headers={"X-Request-ID": request_id})
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"
    assert request_id in stack.log("gateway") and request_id not in stack.log("user")


def test_errors_through_the_gateway_are_json(api):
    for response in (
        api.post("/api/users/register", data="{oops", headers={"Content-Type": "application/json"}),
        api.post("/api/users/register", data="plain text", headers={"Content-Type": "text/plain"}),
        api.get("/api/nowhere"),
        api.get("/definitely/not/here"),
    ):
        assert response.status_code in (400, 404, 415)
        assert response.headers["Content-Type"].startswith("application/json")
        assert "<html" not in response.text.lower() and "Traceback" not in response.text


def test_no_password_or_hash_in_any_log(api, stack):
    username, password = unique_name(), "log-check-password"
    api.post("/api/users/register", json={"username": username, "password": password})
    api.post("/api/users/login", json={"username": username, "password": password})
    api.post("/api/users/login", json={"username": username, "password": "wrong-" + password})
    for service in stack.urls:
        log = stack.log(service)
        assert password not in log and ADMIN_PASSWORD not in log and "$2b$" not in log, service
