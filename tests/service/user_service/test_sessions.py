"""Refresh tokens and their storage, session epochs, a change landing while a login checks
the password, logins ended with Redis down, and the erasure outbox, against the real user
database and the machine's real Redis (or a closed port)."""

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor

import pymysql
import pytest
import redis
import requests
from flask_jwt_extended import decode_token

from customer_service import create_app as create_customer_app
from shop_common import revocation
from shop_common.db import connect_arguments, get_db
from tests.service.conftest import serve_in_thread
from tests.support import TEST_REVOCATION_PREFIX, app_test_config, assert_error, free_port
from user_service import create_app, routes, sessions
from user_service.credentials import hash_password

PASSWORD = "wonderland1"


def log_in(client, username="alice", user_agent="pytest-device/2.0"):
    response = client.post(
        "/api/users/login", json={"username": username, "password": PASSWORD}, headers={"User-Agent": user_agent}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def stored_tokens(app):
    with app.app_context(), get_db().cursor() as cursor:
        cursor.execute("SELECT token_hash, family, user_agent, spent_at, revoked_at FROM refresh_tokens")
        return cursor.fetchall()


def test_refresh_tokens_are_stored_only_as_hashes_with_their_device(app, client, register):
    register("alice")
    login = log_in(client)
    [row] = stored_tokens(app)
    assert row["token_hash"] == hashlib.sha256(login["refresh_token"].encode()).hexdigest()
    assert row["user_agent"] == "pytest-device/2.0"
    assert login["refresh_token"] not in str(row)


def test_of_concurrent_refreshes_with_one_token_exactly_one_wins(app, register):
    """Real concurrent requests: the row lock lets one spend the token; the others are reuse."""
    register("alice")
    url, server = serve_in_thread(app)
    try:
        login = requests.post(
            f"{url}/api/users/login", json={"username": "alice", "password": PASSWORD}, timeout=10
        ).json()
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(
                    lambda _: requests.post(
                        f"{url}/api/users/refresh", json={"refreshToken": login["refresh_token"]}, timeout=10
                    ),
                    range(8),
                )
            )
    finally:
        server.shutdown()
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [401] * 7
    # The first loser finds it spent and ends the login; later ones find the login ended.
    errors = {answer.json()["error"] for answer in answers if answer.status_code == 401}
    assert "refresh_token_reused" in errors and errors <= {"refresh_token_reused", "invalid_refresh_token"}
    assert all(row["revoked_at"] is not None for row in stored_tokens(app))


def test_a_deleted_users_refresh_token_is_refused(client, register, tokens):
    user_id = register("alice")
    login = log_in(client)
    assert client.delete(f"/api/users/{user_id}", headers=tokens.admin()).status_code == 200
    assert_error(
        client.post("/api/users/refresh", json={"refreshToken": login["refresh_token"]}), 401, "invalid_refresh_token"
    )


def test_a_forged_or_foreign_refresh_token_is_refused(client):
    for token in ("not-a-jwt", "a.b.c", 12):
        response = client.post("/api/users/refresh", json={"refreshToken": token})
        assert response.status_code in (400, 401)


# ------------------------------------------------------------ Redis unreachable


@pytest.fixture(scope="module")
def app_without_redis(unit_databases):
    """The user service with its revocation store on a port where nothing listens.

    Made before a test's log capture starts: an app factory resets the root logger's handlers.
    """
    return create_app(
        dict(
            app_test_config(unit_databases["user_db"]),
            REVOCATION_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
            CUSTOMER_SERVICE_URL=f"http://127.0.0.1:{free_port()}",
        )
    )


def test_with_redis_unreachable_logout_deletion_and_role_change_change_nothing(
    app_without_redis, client, register, tokens, caplog
):
    user_id = register("alice")
    login = log_in(client)
    down = app_without_redis.test_client()
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    caplog.set_level(logging.WARNING)
    # A customer's read goes on unchecked (logged); their logout is refused: nothing is ended.
    assert down.get(f"/api/users/{user_id}", headers=headers).status_code == 200
    assert "let through unchecked" in caplog.text
    assert_error(down.post("/api/users/logout", headers=headers), 503, "revocation_unavailable")
    assert_error(down.delete(f"/api/users/{user_id}", headers=tokens.admin()), 503, "revocation_unavailable")
    assert_error(
        down.put(f"/api/users/{user_id}", json={"role": "admin"}, headers=tokens.admin()), 503, "revocation_unavailable"
    )
    assert client.get(f"/api/users/{user_id}", headers=headers).get_json()["role"] == "customer"
    assert client.post("/api/users/refresh", json={"refreshToken": login["refresh_token"]}).status_code == 200
    assert login["access_token"] not in caplog.text


# ------------------------------------------------------------ erasure outbox


def pending_erasures(app):
    with app.app_context(), get_db().cursor() as cursor:
        cursor.execute("SELECT user_id, attempts FROM profile_erasures")
        return {row["user_id"]: row["attempts"] for row in cursor.fetchall()}


def test_a_deletion_the_customer_service_missed_is_erased_by_forget_deleted(
    app, client, register, tokens, unit_databases, user_service_url, transaction_service_url
):
    with app.app_context(), get_db().cursor() as cursor:
        cursor.execute("DELETE FROM profile_erasures")
    user_id = register("alice")
    customer_app = create_customer_app(
        dict(
            app_test_config(unit_databases["customer_db"]),
            USER_SERVICE_URL=user_service_url,
            TRANSACTION_SERVICE_URL=transaction_service_url,
        )
    )
    with customer_app.app_context(), get_db().cursor() as cursor:
        cursor.execute(
            "INSERT INTO customers (user_id, name, email) VALUES (%s, 'Alice', %s)",
            (user_id, f"alice{user_id}@example.com"),
        )
    deleted = client.delete(f"/api/users/{user_id}", headers=tokens.admin())
    assert deleted.get_json()["profile_erasure"] == "pending"
    assert pending_erasures(app) == {user_id: 1}
    failed = app.test_cli_runner().invoke(args=["forget-deleted"])
    assert failed.exit_code == 1 and "1 still pending" in failed.output

    url, server = serve_in_thread(customer_app)
    try:
        reachable = create_app(dict(app_test_config(unit_databases["user_db"]), CUSTOMER_SERVICE_URL=url))
        done = reachable.test_cli_runner().invoke(args=["forget-deleted"])
    finally:
        server.shutdown()
    assert done.exit_code == 0 and "erased 1 profile(s); 0 still pending" in done.output
    assert pending_erasures(app) == {}
    with customer_app.app_context(), get_db().cursor() as cursor:
        cursor.execute("SELECT COUNT(*) AS n FROM customers WHERE user_id = %s", (user_id,))
        assert cursor.fetchone()["n"] == 0


# ------------------------------------------------------------ session epochs


def claims_of(app, token):
    with app.app_context():
        return decode_token(token)


def stored_epoch(app, user_id):
    with app.app_context(), get_db().cursor() as cursor:
        cursor.execute("SELECT session_epoch FROM users WHERE id = %s", (user_id,))
        return cursor.fetchone()["session_epoch"]


def epoch_record(app, user_id):
    """The user's epoch record in Redis and the seconds it has left: (value or None, ttl)."""
    store = redis.Redis.from_url(app.config["REVOCATION_REDIS_URL"])
    key = f"{TEST_REVOCATION_PREFIX}epoch:{user_id}"
    value = store.get(key)
    return (value and int(value)), store.ttl(key)


def bearer(login):
    return {"Authorization": f"Bearer {login['access_token']}"}


def refreshed(client, login):
    return client.post("/api/users/refresh", json={"refreshToken": login["refresh_token"]})


def test_a_role_change_raises_the_epoch_under_which_tokens_are_issued(app, client, register, tokens):
    user_id = register("alice")
    login = log_in(client)
    assert claims_of(app, login["access_token"])["epoch"] == 0
    assert epoch_record(app, user_id)[0] is None
    assert client.put(f"/api/users/{user_id}", json={"role": "admin"}, headers=tokens.admin()).status_code == 200
    assert stored_epoch(app, user_id) == 1
    value, seconds_left = epoch_record(app, user_id)
    # Kept for an access token's life and the clocks' margin: longer than any token it refuses.
    assert (
        value == 1
        and app.config["ACCESS_TOKEN_TTL_SECONDS"]
        < seconds_left
        <= app.config["ACCESS_TOKEN_TTL_SECONDS"] + revocation.EXPIRY_MARGIN_SECONDS
    )
    assert_error(client.get("/api/users", headers=bearer(login)), 401)
    renewed = refreshed(client, login).get_json()
    assert claims_of(app, renewed["access_token"])["epoch"] == 1
    assert claims_of(app, renewed["access_token"])["role"] == "admin"
    assert client.get("/api/users", headers=bearer(renewed)).status_code == 200


def test_the_same_role_again_and_a_rename_end_nothing(app, client, register, tokens):
    user_id = register("alice")
    login = log_in(client)
    same = client.put(f"/api/users/{user_id}", json={"role": "customer", "username": "alice2"}, headers=tokens.admin())
    assert same.status_code == 200
    assert stored_epoch(app, user_id) == 0 and epoch_record(app, user_id)[0] is None
    assert client.get(f"/api/users/{user_id}", headers=bearer(login)).status_code == 200
    assert refreshed(client, login).status_code == 200


def test_a_refused_rename_with_a_role_change_changes_nothing(app, client, register, tokens):
    register("bob_b")
    user_id = register("alice")
    login = log_in(client)
    refused = client.put(f"/api/users/{user_id}", json={"role": "admin", "username": "BOB_B"}, headers=tokens.admin())
    assert_error(refused, 409, "username_taken")
    assert stored_epoch(app, user_id) == 0 and epoch_record(app, user_id)[0] is None
    assert client.get(f"/api/users/{user_id}", headers=bearer(login)).get_json()["role"] == "customer"


def test_logout_all_raises_the_epoch_and_revokes_every_refresh_token(app, client, register):
    user_id = register("alice")
    this, other = log_in(client), log_in(client)
    assert client.post("/api/users/logout-all", headers=bearer(this)).status_code == 200
    assert stored_epoch(app, user_id) == 1 and epoch_record(app, user_id)[0] == 1
    for login in (this, other):
        assert_error(client.get(f"/api/users/{user_id}", headers=bearer(login)), 401)
        assert_error(refreshed(client, login), 401, "invalid_refresh_token")
    again = log_in(client)
    assert claims_of(app, again["access_token"])["epoch"] == 1
    assert client.get(f"/api/users/{user_id}", headers=bearer(again)).status_code == 200


def test_a_deletion_records_an_epoch_above_every_token_of_the_user(app, client, register, tokens):
    user_id = register("alice")
    login = log_in(client)
    assert client.delete(f"/api/users/{user_id}", headers=tokens.admin()).status_code == 200
    assert epoch_record(app, user_id)[0] == 1
    assert_error(client.get(f"/api/users/{user_id}", headers=bearer(login)), 401)
    assert_error(client.delete(f"/api/users/{user_id}", headers=tokens.admin()), 404)


# ------------------------------------------- a change while a login checks the password


def change_while_verifying(monkeypatch, app, statement, params, module=sessions):
    """Run ``statement`` on another connection right after ``module``'s bcrypt check (the
    login's, or the route's of ``currentPassword``): a change that lands while the password
    is being verified, in a fixed order."""
    real_verify = module.verify_password

    def verify_then_change(*args):
        verified = real_verify(*args)
        with pymysql.connect(**connect_arguments(app.config)) as connection, connection.cursor() as cursor:
            cursor.execute(statement, params)
        return verified

    monkeypatch.setattr(module, "verify_password", verify_then_change)


def test_a_login_whose_password_changed_while_it_was_checked_is_refused(app, client, register, monkeypatch):
    user_id = register("alice")
    new_hash = hash_password("a-new-password-2", 4)
    change_while_verifying(monkeypatch, app, "UPDATE users SET password_hash = %s WHERE id = %s", (new_hash, user_id))
    answer = client.post("/api/users/login", json={"username": "alice", "password": PASSWORD})
    assert_error(answer, 401, "invalid_credentials")
    assert not stored_tokens(app)


def test_a_login_whose_user_was_deleted_while_it_was_checked_is_a_401(app, client, register, monkeypatch):
    user_id = register("alice")
    change_while_verifying(monkeypatch, app, "DELETE FROM users WHERE id = %s", (user_id,))
    answer = client.post("/api/users/login", json={"username": "alice", "password": PASSWORD})
    assert_error(answer, 401, "invalid_credentials")
    assert not stored_tokens(app)


def test_a_login_during_a_role_change_gets_the_new_role_and_epoch(app, client, register, monkeypatch):
    user_id = register("alice")
    change_while_verifying(
        monkeypatch,
        app,
        "UPDATE users SET role = 'admin', session_epoch = session_epoch + 1 WHERE id = %s",
        (user_id,),
    )
    claims = claims_of(app, log_in(client)["access_token"])
    assert claims["role"] == "admin" and claims["epoch"] == 1


def test_an_own_password_change_whose_current_password_changed_meanwhile_is_refused(
    app, client, register, tokens, monkeypatch
):
    """Another password is set after the user's currentPassword was checked, before the change."""
    user_id = register("alice")
    other_hash = hash_password("set-by-admin-3", 4)
    change_while_verifying(
        monkeypatch, app, "UPDATE users SET password_hash = %s WHERE id = %s", (other_hash, user_id), routes
    )
    answer = client.put(
        f"/api/users/{user_id}",
        json={"password": "a-new-password-2", "currentPassword": PASSWORD},
        headers=tokens.for_user(user_id),
    )
    assert_error(answer, 401, "invalid_credentials")
    assert client.post("/api/users/login", json={"username": "alice", "password": "set-by-admin-3"}).status_code == 200


def test_the_user_service_refuses_a_refresh_token_shorter_lived_than_an_access_token(unit_databases):
    config = dict(
        app_test_config(unit_databases["user_db"]), REFRESH_TOKEN_TTL_SECONDS=60, ACCESS_TOKEN_TTL_SECONDS=900
    )
    with pytest.raises(RuntimeError, match="REFRESH_TOKEN_TTL_SECONDS"):
        create_app(config)
