"""Logins end when they should, at once: refresh rotation and reuse, logout, a role or
password change, a deletion; and a deleted user's profile is erased, even when the
customer service was down at the time. Against the five real processes, through the
gateway and straight at the services behind it."""

import base64
import json
import os
import signal
import time

import requests

from tests.support import unique_name

PASSWORD = "session-password-1"


def bearer(login):
    return {"Authorization": f"Bearer {login['access_token']}"}


def new_user(api, admin_headers=None, role="customer"):
    """Register and log in; returns (user_id, login answer)."""
    username = unique_name()
    body = {"username": username, "password": PASSWORD, "role": role}
    registered = api.post("/api/users/register", json=body, headers=admin_headers or {})
    assert registered.status_code == 201, registered.text
    return registered.json()["userId"], log_in(api, username)


def log_in(api, username, password=PASSWORD):
    response = api.post(
        "/api/users/login",
        json={"username": username, "password": password},
        headers={"User-Agent": "session-tests/1.0"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def username_of(login):
    return login["user"]["username"]


def family_of(login):
    """The login id in a token's ``fam`` claim, read without verifying (for the log check)."""
    payload = login["refresh_token"].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["fam"]


def refresh(api, login):
    return api.post("/api/users/refresh", json={"refreshToken": login["refresh_token"]})


def statuses_with(stack, api, user_id, headers):
    """What the token gets: through the gateway, then straight at the user and customer services."""
    return [
        api.get(f"/api/users/{user_id}", headers=headers).status_code,
        requests.get(f"{stack.urls['user']}/api/users/{user_id}", headers=headers, timeout=5).status_code,
        requests.get(f"{stack.urls['customer']}/api/customers/user/{user_id}", headers=headers, timeout=5).status_code,
    ]


def assert_refused_everywhere(stack, api, user_id, headers):
    assert statuses_with(stack, api, user_id, headers) == [401, 401, 401]


def assert_accepted(stack, api, user_id, headers):
    # 404 from the customer service: accepted, the user has no profile.
    assert statuses_with(stack, api, user_id, headers) == [200, 200, 404]


# ------------------------------------------------------------------ refresh


def test_a_refreshed_pair_works_and_the_spent_token_ends_its_login(api, stack):
    user_id, first = new_user(api)
    other_login = log_in(api, username_of(first))
    answer = refresh(api, first)
    assert answer.status_code == 200, answer.text
    second = answer.json()
    assert set(second) >= {"access_token", "refresh_token", "expires_in", "refresh_expires_in"}
    assert second["refresh_token"] != first["refresh_token"]
    assert_accepted(stack, api, user_id, bearer(second))

    reused = refresh(api, first)
    assert reused.status_code == 401 and reused.json()["error"] == "refresh_token_reused", reused.text
    # The whole login is over: the newer refresh token and every access token of it.
    assert refresh(api, second).json()["error"] == "invalid_refresh_token"
    assert_refused_everywhere(stack, api, user_id, bearer(second))
    assert_refused_everywhere(stack, api, user_id, bearer(first))
    # Another login of the same user is untouched.
    assert_accepted(stack, api, user_id, bearer(other_login))
    assert refresh(api, other_login).status_code == 200
    log = stack.log("user")
    assert f"login {family_of(first)} of user {user_id} ended" in log
    assert first["refresh_token"] not in log and second["refresh_token"] not in log


def test_a_refresh_token_is_no_access_token_and_an_access_token_no_refresh_token(api, stack):
    user_id, login = new_user(api)
    assert_refused_everywhere(stack, api, user_id, {"Authorization": f"Bearer {login['refresh_token']}"})
    wrong = api.post("/api/users/refresh", json={"refreshToken": login["access_token"]})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_refresh_token"
    assert api.post("/api/users/refresh", json={}).status_code == 400
    assert refresh(api, login).status_code == 200


# ------------------------------------------------------------------ logout


def test_logout_ends_that_login_at_once_and_no_other(api, stack):
    user_id, this = new_user(api)
    other = log_in(api, username_of(this))
    answer = api.post("/api/users/logout", headers=bearer(this))
    assert answer.status_code == 200, answer.text
    assert_refused_everywhere(stack, api, user_id, bearer(this))
    assert refresh(api, this).status_code == 401
    assert_accepted(stack, api, user_id, bearer(other))
    assert refresh(api, other).status_code == 200


def test_logout_all_ends_every_login(api, stack):
    user_id, this = new_user(api)
    other = log_in(api, username_of(this))
    assert api.post("/api/users/logout-all", headers=bearer(this)).status_code == 200
    for login in (this, other):
        assert_refused_everywhere(stack, api, user_id, bearer(login))
        assert refresh(api, login).status_code == 401
    assert_accepted(stack, api, user_id, bearer(log_in(api, username_of(this))))


# ------------------------------------------------------- role and password changes


def test_a_role_change_ends_the_tokens_of_the_old_role(api, stack, admin_headers):
    user_id, login = new_user(api, admin_headers, role="admin")
    assert api.get("/api/users", headers=bearer(login)).status_code == 200
    demoted = api.put(f"/api/users/{user_id}", json={"role": "customer"}, headers=admin_headers)
    assert demoted.status_code == 200, demoted.text
    assert api.get("/api/users", headers=bearer(login)).status_code == 401
    assert requests.get(f"{stack.urls['user']}/api/users", headers=bearer(login), timeout=5).status_code == 401
    assert_refused_everywhere(stack, api, user_id, bearer(login))
    # The login goes on with the new role.
    renewed = refresh(api, login).json()
    assert api.get("/api/users", headers=bearer(renewed)).status_code == 403
    assert_accepted(stack, api, user_id, bearer(renewed))


def test_a_password_change_ends_the_other_logins_and_keeps_this_one(api, stack):
    user_id, this = new_user(api)
    other = log_in(api, username_of(this))
    changed = api.put(
        f"/api/users/{user_id}",
        headers=bearer(this),
        json={"password": "a-new-password-2", "currentPassword": PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    assert_refused_everywhere(stack, api, user_id, bearer(other))
    assert refresh(api, other).status_code == 401
    assert_accepted(stack, api, user_id, bearer(this))
    assert refresh(api, this).status_code == 200


# ------------------------------------------------------------------ deletion


def make_profile(api, user_id, login):
    body = {"userId": user_id, "name": "Forget Me", "email": f"{unique_name()}@example.com", "phone": "555 0100"}
    created = api.post("/api/customers", json=body, headers=bearer(login))
    assert created.status_code == 201, created.text
    return created.json()["customerId"]


def place_order(api, admin_headers, customer_id, login):
    product = api.post(
        "/api/products", headers=admin_headers, json={"name": "Receipt paper", "price": "3.50", "stock": 5}
    )
    assert product.status_code == 201, product.text
    order = api.post(
        "/api/transactions",
        headers=bearer(login),
        json={"customerId": customer_id, "items": [{"productId": product.json()["productId"], "quantity": 2}]},
    )
    assert order.status_code == 201, order.text
    return order.json()["transactionId"]


def test_deleting_a_user_ends_their_tokens_and_forgets_their_profile_but_keeps_orders(api, stack, admin_headers):
    user_id, login = new_user(api)
    customer_id = make_profile(api, user_id, login)
    order_id = place_order(api, admin_headers, customer_id, login)

    deleted = api.delete(f"/api/users/{user_id}", headers=admin_headers)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["profile_erasure"] == "done"
    assert_refused_everywhere(stack, api, user_id, bearer(login))
    assert refresh(api, login).status_code == 401
    assert api.get(f"/api/customers/{customer_id}", headers=admin_headers).status_code == 404
    # The order stays, readable by an admin, under the customer id it was placed with.
    order = api.get(f"/api/transactions/{order_id}", headers=admin_headers)
    assert order.status_code == 200 and order.json()["customer_id"] == customer_id
    listed = api.get(f"/api/transactions/customer/{customer_id}", headers=admin_headers)
    assert listed.status_code == 200 and [row["id"] for row in listed.json()] == [order_id]


def test_a_profile_is_forgotten_once_the_customer_service_is_back(api, stack, admin_headers):
    user_id, login = new_user(api)
    customer_id = make_profile(api, user_id, login)
    os.killpg(int((stack.run_dir / "customer.pid").read_text()), signal.SIGKILL)
    try:
        deleted = api.delete(f"/api/users/{user_id}", headers=admin_headers)
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["profile_erasure"] == "pending"
        assert api.get(f"/api/users/{user_id}", headers=bearer(login)).status_code == 401
        time.sleep(2)  # the sweeper retries (every second here) and fails meanwhile
    finally:
        stack.start("customer")
    deadline = time.monotonic() + 20
    while api.get(f"/api/customers/{customer_id}", headers=admin_headers).status_code != 404:
        assert time.monotonic() < deadline, "the profile of the deleted user is still there"
        time.sleep(0.2)
    assert f"customer profile of deleted user {user_id} not erased yet" in stack.log("user")
    assert f"customer profile of deleted user {user_id} erased" in stack.log("user")
