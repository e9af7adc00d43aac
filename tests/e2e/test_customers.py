"""Customer profiles through the gateway: each customer sees and changes only their own."""

import pytest

from tests.support import unique_name


def register_and_login(api):
    username, password = unique_name(), "profile-password-1"
    user_id = api.post("/api/users/register", json={"username": username, "password": password}).json()["userId"]
    token = api.post("/api/users/login", json={"username": username, "password": password}).json()["access_token"]
    return user_id, username, {"Authorization": f"Bearer {token}"}


@pytest.fixture
def alice(api):
    user_id, username, headers = register_and_login(api)
    response = api.post(
        "/api/customers", headers=headers, json={"userId": user_id, "name": "Alice", "email": f"{username}@example.com"}
    )
    assert response.status_code == 201, response.text
    return {"user_id": user_id, "customer_id": response.json()["customerId"], "headers": headers}


def test_a_user_creates_and_reads_their_profile_with_user_info(api, alice):
    response = api.get(f"/api/customers/{alice['customer_id']}", headers=alice["headers"])
    assert response.status_code == 200
    body = response.json()
    assert body["user_info"]["id"] == alice["user_id"] and "password" not in response.text
    by_user = api.get(f"/api/customers/user/{alice['user_id']}", headers=alice["headers"])
    assert by_user.json()["id"] == alice["customer_id"]


def test_no_customer_reads_or_changes_another_customers_profile(api, alice):
    _mallory_id, _, mallory = register_and_login(api)
    target = f"/api/customers/{alice['customer_id']}"
    assert api.get(target, headers=mallory).status_code == 403
    assert api.get(f"/api/customers/user/{alice['user_id']}", headers=mallory).status_code == 403
    assert api.put(target, headers=mallory, json={"name": "Mallory"}).status_code == 403
    assert api.delete(target, headers=mallory).status_code == 403
    assert (
        api.post(
            "/api/customers",
            headers=mallory,
            json={"userId": alice["user_id"], "name": "Fake", "email": "fake@example.com"},
        ).status_code
        == 403
    )
    assert api.get("/api/customers", headers=mallory).status_code == 403
    assert api.get(target, headers=alice["headers"]).json()["name"] == "Alice"


def test_customer_routes_need_a_token_at_the_gateway(api, alice):
    for method, path in (
        ("GET", f"/api/customers/{alice['customer_id']}"),
        ("GET", "/api/customers"),
        ("POST", "/api/customers"),
        ("DELETE", f"/api/customers/{alice['customer_id']}"),
    ):
        response = api.request(method, path, json={})
        assert response.status_code == 401 and response.json()["error"] == "unauthorized", (method, path)


def test_a_customer_with_no_orders_gets_an_empty_list(api, alice):
    response = api.get(f"/api/transactions/customer/{alice['customer_id']}", headers=alice["headers"])
    assert response.status_code == 200 and response.json() == []


def test_the_admin_lists_customers(api, alice, admin_headers):
    response = api.get("/api/customers?limit=500", headers=admin_headers)
    assert response.status_code == 200
    assert alice["customer_id"] in [row["id"] for row in response.json()]


def test_internal_service_routes_are_not_reachable_through_the_gateway(api, alice, admin_headers):
    for method, path in (
        ("GET", f"/internal/customers/{alice['customer_id']}"),
        ("POST", "/internal/reservations"),
        ("POST", "/api/../internal/reservations"),
    ):
        response = api.request(method, path, headers=admin_headers, json={})
        assert response.status_code == 404 and response.json()["error"] == "not_found", (method, path)
