"""User service routes through the Flask test client, against the real test database."""

import base64
import json
import logging
from datetime import timedelta

import pytest
from flask_jwt_extended import decode_token

from shop_common.db import get_db
from tests.support import assert_error

PASSWORD = "wonderland1"


def user_count(app):
    with app.app_context():
        with get_db().cursor() as cursor:
            cursor.execute("SELECT COUNT(*) AS n FROM users")
            return cursor.fetchone()["n"]


# ------------------------------------------------------------------ register


def test_register_answers_201_with_user_and_no_password(client, app):
    response = client.post("/api/users/register", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 201
    body = response.get_json()
    assert body["message"] and body["userId"] == body["id"]
    assert body["username"] == "alice" and body["role"] == "customer"
    assert body["created_at"].endswith("Z")
    text = response.get_data(as_text=True)
    assert PASSWORD not in text and "$2b$" not in text and "password" not in text
    with app.app_context(), get_db().cursor() as cursor:
        cursor.execute("SELECT password_hash FROM users WHERE id = %s", (body["id"],))
        stored = cursor.fetchone()["password_hash"]
    assert stored.startswith("$2b$") and PASSWORD not in stored


def test_register_refuses_a_taken_username_case_insensitively(client, register):
    register("alice")
    response = client.post("/api/users/register", json={"username": "ALICE", "password": PASSWORD})
    assert_error(response, 409, "username_taken")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"password": PASSWORD}, "username"),
        ({"username": "alice"}, "password"),
        ({"username": "al", "password": PASSWORD}, "username"),
        ({"username": "a" * 33, "password": PASSWORD}, "username"),
        ({"username": "alice smith", "password": PASSWORD}, "username"),
        ({"username": "<script>", "password": PASSWORD}, "username"),
        ({"username": 12345, "password": PASSWORD}, "username"),
        ({"username": "alice", "password": "short"}, "password"),
        ({"username": "alice", "password": "é" * 40}, "password"),
        ({"username": "alice", "password": 12345678}, "password"),
        ({"username": "alice", "password": "ab\0ab\0ab"}, "password"),
        ({"username": "ａｌｉｃｅ", "password": PASSWORD}, "username"),
        ({"username": "alice", "password": PASSWORD, "role": "superuser"}, "role"),
    ],
)
def test_register_refuses_invalid_fields_and_stores_nothing(client, app, body, field):
    body = assert_error(client.post("/api/users/register", json=body), 400, "validation_error")
    assert field in body["fields"]
    assert user_count(app) == 0


@pytest.mark.parametrize(
    "data, content_type, status, code",
    [
        ("{bad json", "application/json", 400, "invalid_json"),
        ("[1, 2]", "application/json", 400, "invalid_json"),
        ("", "application/json", 400, "invalid_json"),
        ("username=alice", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        ('{"username": "alice"}', "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_register_refuses_bodies_that_are_not_a_json_object(client, app, data, content_type, status, code):
    response = client.post("/api/users/register", data=data, content_type=content_type)
    assert_error(response, status, code)
    assert user_count(app) == 0


def test_register_as_admin_needs_an_admin_token(client, tokens, app):
    body = {"username": "mallory", "password": PASSWORD, "role": "admin"}
    assert_error(client.post("/api/users/register", json=body), 403, "forbidden")
    assert_error(client.post("/api/users/register", json=body, headers=tokens.for_user(1)), 403)
    assert user_count(app) == 0
    response = client.post("/api/users/register", json=body, headers=tokens.admin())
    assert response.status_code == 201 and response.get_json()["role"] == "admin"


def test_a_body_over_one_mebibyte_is_413(client):
    response = client.post("/api/users/register", data="x" * (1024 * 1024 + 1), content_type="application/json")
    assert_error(response, 413, "payload_too_large")


# --------------------------------------------------------------------- login


def test_login_returns_a_jwt_with_string_sub_and_role(client, app, register):
    user_id = register("alice")
    response = client.post("/api/users/login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"] == {"id": user_id, "username": "alice", "role": "customer"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert body["refresh_expires_in"] == 14 * 24 * 3600
    with app.app_context():
        claims = decode_token(body["access_token"])
        refresh_claims = decode_token(body["refresh_token"])
    assert claims["sub"] == str(user_id) and claims["role"] == "customer" and claims["type"] == "access"
    assert refresh_claims["type"] == "refresh" and refresh_claims["fam"] == claims["fam"]
    assert "password" not in response.get_data(as_text=True)


@pytest.mark.parametrize("username, password", [("alice", "wrong-password"), ("nobody", PASSWORD)])
def test_login_failures_are_one_and_the_same_401(client, register, username, password):
    register("alice")
    body = assert_error(
        client.post("/api/users/login", json={"username": username, "password": password}), 401, "invalid_credentials"
    )
    assert body["message"] == "Invalid username or password."


@pytest.mark.parametrize("username", ["alice", "nobody"])
def test_a_login_with_a_password_over_72_bytes_is_the_same_401(client, register, username):
    """No stored password is over bcrypt's 72 bytes, so such a login fails like any wrong password."""
    register("alice")
    response = client.post("/api/users/login", json={"username": username, "password": PASSWORD + "x" * 72})
    assert assert_error(response, 401, "invalid_credentials")["message"] == "Invalid username or password."


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/users/register", '{"username": "bob", "password": "long-enough\\ud800"}'),
        ("/api/users/login", '{"username": "alice", "password": "wonderland1\\udfff"}'),
    ],
)
def test_a_lone_surrogate_in_a_json_string_is_400_and_changes_nothing(client, app, register, path, body):
    register("alice")
    before = user_count(app)
    response = client.post(path, data=body, content_type="application/json")
    assert "surrogate" in assert_error(response, 400, "invalid_json")["message"]
    assert user_count(app) == before


def test_a_password_with_a_nul_is_refused_and_never_matches_a_shorter_one(client, tokens, register):
    """bcrypt stops at a NUL: "ab\\0ab\\0ab" would be stored as "ab"."""
    alice = register("alice")
    problems = assert_error(
        client.put(f"/api/users/{alice}", json={"password": "wonder\0land1"}, headers=tokens.admin()), 400
    )["fields"]
    assert "NUL" in problems["password"]
    assert client.post("/api/users/login", json={"username": "alice", "password": PASSWORD}).status_code == 200
    for password in (PASSWORD + "\0", PASSWORD + "\0anything", "wonder\0land1"):
        answer = client.post("/api/users/login", json={"username": "alice", "password": password})
        assert_error(answer, 401, "invalid_credentials")


@pytest.mark.parametrize("username", ["ａｌｉｃｅ", "ALİCE", "alİce", "al", "alice smith", "alice\u200b", "a" * 33])
def test_login_refuses_a_username_registration_would_refuse(client, register, username):
    """The database's Unicode collation would find alice for the full-width and dotted-I look-alikes."""
    register("alice")
    answer = client.post("/api/users/login", json={"username": username, "password": PASSWORD})
    assert "username" in assert_error(answer, 400, "validation_error")["fields"]


def test_login_finds_a_username_in_another_ascii_case(client, register):
    alice = register("alice")
    answer = client.post("/api/users/login", json={"username": "ALICE", "password": PASSWORD})
    assert answer.status_code == 200 and answer.get_json()["user"]["id"] == alice


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "alice"},
        {"password": PASSWORD},
        {"username": "alice", "password": 5},
        {"username": ["a"], "password": "x"},
    ],
)
def test_login_with_missing_or_mistyped_fields_is_400(client, body):
    assert_error(client.post("/api/users/login", json=body), 400, "validation_error")


def test_no_password_or_hash_reaches_the_log(client, register, caplog):
    caplog.set_level(logging.DEBUG)
    register("alice")
    client.post("/api/users/login", json={"username": "alice", "password": PASSWORD})
    client.post("/api/users/login", json={"username": "alice", "password": "not-the-password"})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "POST /api/users/login 401" in logged
    assert PASSWORD not in logged and "not-the-password" not in logged and "$2b$" not in logged


# ------------------------------------------------------------ token checks


def _unsigned_token(claims):
    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic YWxpY2U6cGFzcw=="},
        {"Authorization": "Bearer " + _unsigned_token({"sub": "1", "role": "admin", "type": "access"})},
    ],
)
def test_missing_forged_or_unsigned_tokens_are_json_401(client, register, headers):
    user_id = register("alice")
    assert_error(client.get(f"/api/users/{user_id}", headers=headers), 401, "unauthorized")


def test_an_expired_token_is_401(client, tokens, register):
    user_id = register("alice")
    expired = tokens.raw(
        identity=str(user_id), additional_claims={"role": "customer"}, expires_delta=timedelta(seconds=-10)
    )
    body = assert_error(client.get(f"/api/users/{user_id}", headers=expired), 401)
    assert "expired" in body["message"]


def test_a_token_signed_with_another_secret_is_401(client, register):
    import jwt

    user_id = register("alice")
    token = jwt.encode(
        {"sub": str(user_id), "role": "admin", "type": "access", "jti": "x"},
        "some-other-secret-of-sufficient-length-123456",
        algorithm="HS256",
    )
    assert_error(client.get(f"/api/users/{user_id}", headers={"Authorization": f"Bearer {token}"}), 401)


def test_a_token_without_a_known_role_is_401(client, tokens, register):
    user_id = register("alice")
    headers = tokens.raw(identity=str(user_id), additional_claims={"role": "root"})
    assert_error(client.get(f"/api/users/{user_id}", headers=headers), 401)


# ------------------------------------------------------------------- reads


def test_a_user_reads_themself_but_not_another(client, tokens, register):
    alice, bob = register("alice"), register("bob_b")
    response = client.get(f"/api/users/{alice}", headers=tokens.for_user(alice))
    assert response.status_code == 200
    assert set(response.get_json()) == {"id", "username", "role", "created_at"}
    assert_error(client.get(f"/api/users/{bob}", headers=tokens.for_user(alice)), 403, "forbidden")


def test_an_admin_reads_anyone_and_gets_404_for_nobody(client, tokens, register):
    alice = register("alice")
    assert client.get(f"/api/users/{alice}", headers=tokens.admin()).get_json()["username"] == "alice"
    assert_error(client.get(f"/api/users/{alice + 1000}", headers=tokens.admin()), 404, "not_found")


@pytest.mark.parametrize(
    "path", ["/api/users/abc", "/api/users/1abc", "/api/users/0", "/api/users/-1", "/api/users/01", "/api/users/1.5"]
)
def test_ids_that_are_not_positive_integers_are_json_404(client, tokens, path):
    assert_error(client.get(path, headers=tokens.admin()), 404, "not_found")


def test_unknown_route_and_wrong_method_are_json(client, tokens):
    assert_error(client.get("/api/nothing-here"), 404, "not_found")
    response = client.patch("/api/users/1", json={}, headers=tokens.admin())
    assert_error(response, 405, "method_not_allowed")
    assert "PUT" in response.headers["Allow"]


def test_list_is_admin_only_paginated_newest_first_with_total(client, tokens, register):
    ids = [register(f"user_{n}") for n in range(5)]
    assert_error(client.get("/api/users", headers=tokens.for_user(ids[0])), 403)
    response = client.get("/api/users?limit=2&offset=1", headers=tokens.admin())
    assert response.status_code == 200
    assert response.headers["X-Total-Count"] == "5"
    assert [user["id"] for user in response.get_json()] == [ids[3], ids[2]]
    assert all("password" not in str(user) for user in response.get_json())


def test_an_empty_list_is_200_empty_array(client, tokens):
    response = client.get("/api/users", headers=tokens.admin())
    assert response.status_code == 200 and response.get_json() == []
    assert response.headers["X-Total-Count"] == "0"


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=abc", "offset=-1", "limit=1.5", "limit=²"])
def test_bad_pagination_is_400(client, tokens, query):
    body = assert_error(client.get(f"/api/users?{query}", headers=tokens.admin()), 400)
    assert body["fields"]


# ------------------------------------------------------------------ update


def test_a_user_renames_themself(client, tokens, register):
    alice = register("alice")
    response = client.put(f"/api/users/{alice}", json={"username": "alice2"}, headers=tokens.for_user(alice))
    assert response.status_code == 200
    assert response.get_json()["user"]["username"] == "alice2"


def test_changing_ones_own_password_needs_the_current_one(client, tokens, register):
    alice = register("alice")
    headers = tokens.for_user(alice)
    url = f"/api/users/{alice}"
    assert_error(client.put(url, json={"password": "new-password-1"}, headers=headers), 401)
    assert_error(
        client.put(url, json={"password": "new-password-1", "currentPassword": "wrong-one"}, headers=headers), 401
    )
    assert_error(
        client.put(url, json={"password": "new-password-1", "currentPassword": PASSWORD + "x" * 72}, headers=headers),
        401,
    )
    response = client.put(url, json={"password": "new-password-1", "currentPassword": PASSWORD}, headers=headers)
    assert response.status_code == 200
    assert client.post("/api/users/login", json={"username": "alice", "password": PASSWORD}).status_code == 401
    assert client.post("/api/users/login", json={"username": "alice", "password": "new-password-1"}).status_code == 200


def test_an_admin_resets_a_password_without_the_current_one(client, tokens, register):
    alice = register("alice")
    response = client.put(f"/api/users/{alice}", json={"password": "reset-by-admin"}, headers=tokens.admin())
    assert response.status_code == 200
    assert client.post("/api/users/login", json={"username": "alice", "password": "reset-by-admin"}).status_code == 200


def test_only_an_admin_changes_a_role(client, tokens, register):
    alice = register("alice")
    assert_error(client.put(f"/api/users/{alice}", json={"role": "admin"}, headers=tokens.for_user(alice)), 403)
    assert client.get(f"/api/users/{alice}", headers=tokens.admin()).get_json()["role"] == "customer"
    response = client.put(f"/api/users/{alice}", json={"role": "admin"}, headers=tokens.admin())
    assert response.get_json()["user"]["role"] == "admin"


def test_update_refusals(client, tokens, register):
    alice, bob = register("alice"), register("bob_b")
    assert_error(client.put(f"/api/users/{bob}", json={"username": "bobby"}, headers=tokens.for_user(alice)), 403)
    assert_error(
        client.put(f"/api/users/{alice}", json={"username": "BOB_B"}, headers=tokens.for_user(alice)),
        409,
        "username_taken",
    )
    assert_error(client.put(f"/api/users/{alice}", json={}, headers=tokens.for_user(alice)), 400)
    assert_error(client.put(f"/api/users/{alice}", json={"username": "x"}, headers=tokens.for_user(alice)), 400)
    assert_error(client.put(f"/api/users/{alice + 1000}", json={"username": "ghost"}, headers=tokens.admin()), 404)
    assert_error(client.put(f"/api/users/{alice}", data="nope", headers=tokens.for_user(alice)), 415)
    assert client.get(f"/api/users/{bob}", headers=tokens.admin()).get_json()["username"] == "bob_b"


# ------------------------------------------------------------------ delete


def test_only_an_admin_deletes(client, tokens, register, app):
    alice = register("alice")
    assert_error(client.delete(f"/api/users/{alice}", headers=tokens.for_user(alice)), 403)
    assert user_count(app) == 1
    response = client.delete(f"/api/users/{alice}", headers=tokens.admin())
    assert response.status_code == 200 and response.get_json()["userId"] == alice
    assert_error(client.delete(f"/api/users/{alice}", headers=tokens.admin()), 404)
    assert user_count(app) == 0


# ------------------------------------------------------------- the unexpected


def test_an_unexpected_error_is_a_json_500_without_traceback(client, tokens, register, monkeypatch):
    from user_service import repository

    alice = register("alice")

    def explode(user_id):
        raise RuntimeError("secret internal detail /srv/app.py line 42")

    monkeypatch.setattr(repository, "find_user", explode)
    response = client.get(f"/api/users/{alice}", headers=tokens.admin())
    body = assert_error(response, 500, "internal_error")
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert "Traceback" not in body["message"]


def test_request_id_is_taken_from_the_client_or_made(client):
    assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = client.get("/health", headers={"X-Request-ID": "bad id; forged=log"}).headers["X-Request-ID"]
    assert made != "bad id; forged=log" and len(made) == 32


def test_an_encoded_new_line_in_the_path_cannot_forge_an_access_log_line(client, caplog):
    caplog.set_level(logging.INFO, logger="access")
    client.get("/api/users/1%0A2026-01-01 INFO forged%3Fa%23b")
    (line,) = [record.getMessage() for record in caplog.records if record.name == "access"]
    assert line.startswith("GET /api/users/1%0A2026-01-01%20INFO%20forged%3Fa%23b 40")
    assert "\n" not in line


def test_health_reports_the_database(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "service": "user", "checks": {"database": "ok"}}
