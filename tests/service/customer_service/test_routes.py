"""Customer service routes, with a real user service behind them."""

import pytest

from shop_common.db import get_db
from tests.support import Tokens, assert_error, free_port


def customer_count(app):
    with app.app_context(), get_db().cursor() as cursor:
        cursor.execute("SELECT COUNT(*) AS n FROM customers")
        return cursor.fetchone()["n"]


# ------------------------------------------------------------------ create


def test_a_user_creates_their_profile_without_phone_or_address(client, tokens, new_user):
    user_id, username = new_user()
    response = client.post(
        "/api/customers",
        headers=tokens.for_user(user_id),
        json={"userId": user_id, "name": "Ada", "email": f"{username}@example.com"},
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["customerId"] == body["id"] and body["user_id"] == user_id
    assert body["phone"] is None and body["address"] is None
    assert body["message"]


def test_all_fields_are_stored(client, create_profile, tokens):
    _user_id, customer_id, headers = create_profile(phone="+44 (0)20 7946-0958", address="12 Analytical St")
    body = client.get(f"/api/customers/{customer_id}", headers=headers).get_json()
    assert body["phone"] == "+44 (0)20 7946-0958" and body["address"] == "12 Analytical St"


def test_a_user_cannot_create_a_profile_for_someone_else(client, tokens, new_user, app):
    alice, _ = new_user()
    bob, _ = new_user()
    response = client.post(
        "/api/customers",
        headers=tokens.for_user(alice),
        json={"userId": bob, "name": "Bob", "email": "bob@example.com"},
    )
    assert_error(response, 403)
    assert customer_count(app) == 0


def test_an_admin_creates_a_profile_for_anyone(client, tokens, new_user):
    user_id, _ = new_user()
    response = client.post(
        "/api/customers", headers=tokens.admin(), json={"userId": user_id, "name": "Bob", "email": "bob@example.com"}
    )
    assert response.status_code == 201


def test_an_unknown_user_is_404(client, tokens, app):
    response = client.post(
        "/api/customers",
        headers=tokens.admin(),
        json={"userId": 987654321, "name": "Ghost", "email": "ghost@example.com"},
    )
    assert_error(response, 404)
    assert customer_count(app) == 0


def test_one_profile_per_user_and_unique_email(client, tokens, create_profile, new_user):
    user_id, _customer_id, headers = create_profile(email="taken@example.com")
    again = client.post(
        "/api/customers", headers=headers, json={"userId": user_id, "name": "Twice", "email": "other@example.com"}
    )
    assert_error(again, 409, "profile_exists")
    other, _ = new_user()
    same_email = client.post(
        "/api/customers",
        headers=tokens.for_user(other),
        json={"userId": other, "name": "Copy", "email": "TAKEN@example.com"},
    )
    assert_error(same_email, 409, "email_taken")


@pytest.mark.parametrize(
    "change, field",
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "two@@example.com"}, "email"),
        ({"email": None}, "email"),
        ({"name": ""}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": 42}, "name"),
        ({"phone": "call me maybe"}, "phone"),
        ({"phone": 12345}, "phone"),
        ({"address": "x" * 501}, "address"),
        ({"userId": "1"}, "userId"),
        ({"userId": True}, "userId"),
        ({"userId": -4}, "userId"),
    ],
)
def test_invalid_fields_are_400_and_store_nothing(client, tokens, new_user, app, change, field):
    user_id, username = new_user()
    body = {"userId": user_id, "name": "Ada", "email": f"{username}@example.com", **change}
    problems = assert_error(client.post("/api/customers", json=body, headers=tokens.admin()), 400)["fields"]
    assert field in problems
    assert customer_count(app) == 0


def test_no_token_is_401_and_not_json_is_415(client, tokens):
    assert_error(client.post("/api/customers", json={}), 401)
    assert_error(client.post("/api/customers", data="x", headers=tokens.admin()), 415)


def test_a_stopped_user_service_makes_create_503(app_with, new_user):
    down = app_with(USER_SERVICE_URL=f"http://127.0.0.1:{free_port()}")
    user_id, username = new_user()
    response = down.test_client().post(
        "/api/customers",
        headers=Tokens(down).admin(),
        json={"userId": user_id, "name": "Ada", "email": f"{username}@x.org"},
    )
    body = assert_error(response, 503, "service_unavailable")
    assert "user service" in body["message"]
    assert customer_count(down) == 0


# ------------------------------------------------------------------- reads


def test_single_reads_add_user_info_without_secrets(client, create_profile):
    user_id, customer_id, headers = create_profile()
    for path in (f"/api/customers/{customer_id}", f"/api/customers/user/{user_id}"):
        response = client.get(path, headers=headers)
        assert response.status_code == 200
        body = response.get_json()
        assert body["id"] == customer_id
        assert body["user_info"]["id"] == user_id and set(body["user_info"]) == {"id", "username", "role", "created_at"}
        assert "password" not in response.get_data(as_text=True)


def test_user_info_is_null_when_the_user_service_is_down(app_with, create_profile):
    _user_id, customer_id, headers = create_profile()
    down = app_with(USER_SERVICE_URL=f"http://127.0.0.1:{free_port()}")
    response = down.test_client().get(f"/api/customers/{customer_id}", headers=headers)
    assert response.status_code == 200
    assert response.get_json()["user_info"] is None and response.get_json()["id"] == customer_id


def test_nobody_reads_another_customers_profile(client, create_profile):
    _, _alice_customer, alice = create_profile()
    bob_user, bob_customer, bob = create_profile()
    assert_error(client.get(f"/api/customers/{bob_customer}", headers=alice), 403)
    assert_error(client.get(f"/api/customers/user/{bob_user}", headers=alice), 403)
    assert_error(client.put(f"/api/customers/{bob_customer}", json={"name": "Hacked"}, headers=alice), 403)
    assert_error(client.delete(f"/api/customers/{bob_customer}", headers=alice), 403)
    assert client.get(f"/api/customers/{bob_customer}", headers=bob).get_json()["name"] == "Ada Lovelace"


def test_missing_profiles_are_404(client, tokens, new_user):
    user_id, _ = new_user()
    assert_error(client.get("/api/customers/987654", headers=tokens.admin()), 404)
    assert_error(client.get(f"/api/customers/user/{user_id}", headers=tokens.for_user(user_id)), 404)
    assert_error(client.get("/api/customers/1abc", headers=tokens.admin()), 404)


def test_the_list_is_admin_only_and_paginated(client, tokens, create_profile):
    made = [create_profile()[1] for _ in range(3)]
    _, _, customer_headers = create_profile()
    assert_error(client.get("/api/customers", headers=customer_headers), 403)
    response = client.get("/api/customers?limit=2&offset=1", headers=tokens.admin())
    assert response.headers["X-Total-Count"] == "4"
    assert [row["id"] for row in response.get_json()] == [made[2], made[1]]
    assert all("user_info" not in row for row in response.get_json())


def test_an_empty_list_is_200(client, tokens):
    response = client.get("/api/customers", headers=tokens.admin())
    assert response.status_code == 200 and response.get_json() == []


# ----------------------------------------------------------- update, delete


def test_update_is_partial_and_null_clears_optional_fields(client, create_profile):
    _, customer_id, headers = create_profile(phone="555-0100", address="Somewhere 1")
    response = client.put(f"/api/customers/{customer_id}", json={"phone": None, "name": "Ada L."}, headers=headers)
    assert response.status_code == 200
    customer = response.get_json()["customer"]
    assert customer["name"] == "Ada L." and customer["phone"] is None and customer["address"] == "Somewhere 1"


def test_update_refusals_change_nothing(client, create_profile):
    _, _first, _first_headers = create_profile(email="first@example.com")
    _, second, second_headers = create_profile(email="second@example.com")
    assert_error(
        client.put(f"/api/customers/{second}", json={"email": "FIRST@example.com"}, headers=second_headers),
        409,
        "email_taken",
    )
    assert_error(client.put(f"/api/customers/{second}", json={}, headers=second_headers), 400)
    assert_error(client.put(f"/api/customers/{second}", json={"email": "bad"}, headers=second_headers), 400)
    assert_error(client.put(f"/api/customers/{second}", json={"name": None}, headers=second_headers), 400)
    assert client.get(f"/api/customers/{second}", headers=second_headers).get_json()["email"] == "second@example.com"


def test_the_owner_deletes_their_profile(client, create_profile, app):
    _, customer_id, headers = create_profile()
    response = client.delete(f"/api/customers/{customer_id}", headers=headers)
    assert response.status_code == 200 and response.get_json()["customerId"] == customer_id
    assert_error(client.delete(f"/api/customers/{customer_id}", headers=headers), 404)
    assert customer_count(app) == 0


def test_a_deletion_is_recorded_by_the_transaction_service_first(client, create_profile, transaction_app, tokens):
    user_id, customer_id, headers = create_profile()
    _, other_customer_id, _ = create_profile()
    assert client.delete(f"/api/customers/{customer_id}", headers=headers).status_code == 200
    forgotten = client.delete(f"/internal/customers/user/{user_id}", headers=tokens.service())
    assert forgotten.get_json() == {"user_id": user_id, "deleted": False}
    assert recorded_deletions(transaction_app) >= {customer_id}
    assert other_customer_id not in recorded_deletions(transaction_app)


def test_a_deleted_users_profile_is_recorded_by_the_transaction_service(
    client, create_profile, transaction_app, tokens
):
    user_id, customer_id, _ = create_profile()
    forgotten = client.delete(f"/internal/customers/user/{user_id}", headers=tokens.service())
    assert forgotten.get_json() == {"user_id": user_id, "deleted": True}
    assert customer_id in recorded_deletions(transaction_app)


def test_a_deletion_the_transaction_service_cannot_record_is_503_and_keeps_the_profile(
    app_with, create_profile, tokens
):
    user_id, customer_id, headers = create_profile()
    unreachable = app_with(TRANSACTION_SERVICE_URL=f"http://127.0.0.1:{free_port()}").test_client()
    assert_error(unreachable.delete(f"/api/customers/{customer_id}", headers=headers), 503)
    assert_error(unreachable.delete(f"/internal/customers/user/{user_id}", headers=tokens.service()), 503)
    assert unreachable.get(f"/api/customers/{customer_id}", headers=headers).status_code == 200


def recorded_deletions(transaction_app):
    with transaction_app.app_context(), get_db().cursor() as cursor:
        cursor.execute("SELECT customer_id FROM deleted_customers")
        return {row["customer_id"] for row in cursor.fetchall()}


# ---------------------------------------------------------------- internal


def test_the_internal_owner_lookup_is_for_services_only(client, tokens, create_profile):
    user_id, customer_id, headers = create_profile()
    assert_error(client.get(f"/internal/customers/{customer_id}", headers=headers), 403)
    assert_error(client.get(f"/internal/customers/{customer_id}", headers=tokens.admin()), 403)
    response = client.get(f"/internal/customers/{customer_id}", headers=tokens.service())
    assert response.get_json() == {"id": customer_id, "user_id": user_id}
    assert_error(client.get("/internal/customers/99999999", headers=tokens.service()), 404)
