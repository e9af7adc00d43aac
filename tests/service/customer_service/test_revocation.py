"""The revocation check in a service, with the machine's real Redis and with a Redis that
cannot be reached (a closed port): a customer's read goes on, writes and admins are refused."""

import time
from datetime import timedelta

import redis

from shop_common.auth import Caller, VerifiedToken, VerifiedTokens
from tests.support import TEST_REVOCATION_PREFIX, assert_error, free_port


def test_a_token_of_an_epoch_before_its_users_record_is_refused(client, create_profile, tokens):
    """The tests' tokens carry no ``epoch``: they count as epoch 0."""
    user_id, customer_id, headers = create_profile()
    store = redis.Redis.from_url(client.application.config["REVOCATION_REDIS_URL"])
    key = f"{TEST_REVOCATION_PREFIX}epoch:{user_id}"
    store.set(key, "1", ex=60)
    try:
        assert_error(client.get(f"/api/customers/{customer_id}", headers=headers), 401)
        current = tokens.raw(identity=str(user_id), additional_claims={"role": "customer", "epoch": 1})
        assert client.get(f"/api/customers/{customer_id}", headers=current).status_code == 200
        odd = tokens.raw(identity=str(user_id), additional_claims={"role": "customer", "epoch": "9"})
        assert_error(client.get(f"/api/customers/{customer_id}", headers=odd), 401)
    finally:
        store.delete(key)
    assert client.get(f"/api/customers/{customer_id}", headers=headers).status_code == 200


def test_a_token_of_the_release_before_epochs_is_refused_by_that_releases_record(client, create_profile, tokens):
    """Before session epochs a user's tokens were refused by a time (``user:<id>``); after an
    upgrade that record still refuses the tokens it covered, and only those."""
    user_id, customer_id, headers = create_profile()  # no ``epoch``: issued by the old release
    store = redis.Redis.from_url(client.application.config["REVOCATION_REDIS_URL"])
    key = f"{TEST_REVOCATION_PREFIX}user:{user_id}"
    store.set(key, repr(time.time() + 1), ex=60)
    try:
        assert_error(client.get(f"/api/customers/{customer_id}", headers=headers), 401)
        current = tokens.raw(identity=str(user_id), additional_claims={"role": "customer", "epoch": 0})
        assert client.get(f"/api/customers/{customer_id}", headers=current).status_code == 200
    finally:
        store.delete(key)
    assert client.get(f"/api/customers/{customer_id}", headers=headers).status_code == 200


def test_with_redis_unreachable_a_customer_reads_but_writes_and_admins_are_refused(app_with, create_profile, tokens):
    _user_id, customer_id, headers = create_profile()
    down = app_with(REVOCATION_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0").test_client()
    started = time.monotonic()
    assert down.get(f"/api/customers/{customer_id}", headers=headers).status_code == 200
    assert_error(
        down.put(f"/api/customers/{customer_id}", json={"name": "Changed"}, headers=headers),
        503,
        "revocation_unavailable",
    )
    assert_error(down.get(f"/api/customers/{customer_id}", headers=tokens.admin()), 503, "revocation_unavailable")
    assert_error(down.delete(f"/api/customers/{customer_id}", headers=tokens.admin()), 503, "revocation_unavailable")
    # Service tokens are not revocable: the services keep talking to each other.
    assert down.get(f"/internal/customers/{customer_id}", headers=tokens.service()).status_code == 200
    assert time.monotonic() - started < 5  # a refused connection fails fast, it does not wait
    assert down.get(f"/api/customers/{customer_id}", headers=headers).get_json()["name"] == "Ada Lovelace"


def test_a_token_verified_before_is_still_checked_for_revocation_on_every_request(client, create_profile):
    """A verified token is kept by the process, its revocation is not: the record refuses it at once."""
    user_id, customer_id, headers = create_profile()
    assert client.get(f"/api/customers/{customer_id}", headers=headers).status_code == 200
    store = redis.Redis.from_url(client.application.config["REVOCATION_REDIS_URL"])
    key = f"{TEST_REVOCATION_PREFIX}epoch:{user_id}"
    store.set(key, "1", ex=60)
    try:
        assert_error(client.get(f"/api/customers/{customer_id}", headers=headers), 401)
    finally:
        store.delete(key)


def test_a_token_verified_before_is_refused_once_it_expires(client, create_profile, tokens):
    user_id, customer_id, _headers = create_profile()
    short = tokens.raw(
        identity=str(user_id), additional_claims={"role": "customer"}, expires_delta=timedelta(seconds=1)
    )
    assert client.get(f"/api/customers/{customer_id}", headers=short).status_code == 200
    time.sleep(1.1)
    assert "expired" in assert_error(client.get(f"/api/customers/{customer_id}", headers=short), 401)["message"]


def test_a_token_changed_by_one_byte_is_verified_again(client, create_profile):
    _user_id, customer_id, headers = create_profile()
    assert client.get(f"/api/customers/{customer_id}", headers=headers).status_code == 200
    token = headers["Authorization"]
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert_error(client.get(f"/api/customers/{customer_id}", headers={"Authorization": forged}), 401)


def test_the_verified_tokens_kept_are_bounded():
    tokens = VerifiedTokens(size=2)
    kept = VerifiedToken({}, {"exp": time.time() + 60}, Caller(1, "customer"))
    for header in ("Bearer a", "Bearer b", "Bearer c"):
        tokens.keep(header, kept)
    assert tokens.get("Bearer a") is None
    assert tokens.get("Bearer c") is kept
    expired = VerifiedToken({}, {"exp": time.time() - 1}, Caller(1, "customer"))
    tokens.keep("Bearer d", expired)
    assert tokens.get("Bearer d") is None
