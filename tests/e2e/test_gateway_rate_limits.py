"""Rate limits at the gateway, per client and per address, shared through Redis."""

import re
import uuid

import pytest
import requests

from tests.e2e.gateway_helpers import (
    assert_json_error,
    gateway_log,
    own_gateway,
    request_id,
)
from tests.stacks import new_user
from tests.support import free_port, unique_name
from tools import stack as launcher

# --- 4. rate limits ----------------------------------------------------------------------------


def test_a_password_guesser_is_stopped_per_address_with_a_json_429(stack, tmp_path):
    with own_gateway(
        stack, tmp_path, RATELIMIT_ENABLED="true", RATELIMIT_LOGIN="3 per minute", RATELIMIT_DEFAULT="100 per minute"
    ) as gateway:
        guess = {"username": unique_name(), "password": "not-the-password"}
        answers = [requests.post(gateway + "/api/users/login", json=guess, timeout=10) for _ in range(3)]
        assert [answer.status_code for answer in answers] == [401, 401, 401]
        assert [answer.headers["X-RateLimit-Remaining"] for answer in answers] == ["2", "1", "0"]
        assert "Retry-After" not in answers[0].headers

        blocked_id = request_id("guess")
        blocked = requests.post(
            gateway + "/api/users/login", json=guess, timeout=10, headers={"X-Request-ID": blocked_id}
        )
        body = assert_json_error(blocked, 429, "rate_limited")
        assert set(body) == {"error", "message"}
        assert 1 <= int(blocked.headers["Retry-After"]) <= 60
        assert blocked.headers["X-RateLimit-Limit"] == "3" and blocked.headers["X-RateLimit-Remaining"] == "0"
        assert blocked_id not in stack.log("user")

        # Register shares the sign-in counter; the other routes have their own.
        register = requests.post(
            gateway + "/api/users/register", timeout=10, json={"username": unique_name(), "password": "long-enough-1"}
        )
        assert register.status_code == 429
        catalog = requests.get(gateway + "/api/products", timeout=10)
        assert catalog.status_code == 200 and catalog.headers["X-RateLimit-Limit"] == "100"
        for path in ("/", "/health", "/", "/health"):
            answer = requests.get(gateway + path, timeout=10)
            assert answer.status_code == 200 and "X-RateLimit-Limit" not in answer.headers


def test_the_default_limit_counts_each_user_and_each_anonymous_address_apart(api, stack, tmp_path):
    alice, bob = new_user(api), new_user(api)
    with own_gateway(stack, tmp_path, RATELIMIT_ENABLED="true", RATELIMIT_DEFAULT="3 per minute") as gateway:

        def read_self(someone):
            user_id, headers = someone
            return requests.get(f"{gateway}/api/users/{user_id}", headers=headers, timeout=10)

        assert [read_self(alice).status_code for _ in range(3)] == [200, 200, 200]
        assert_json_error(read_self(alice), 429, "rate_limited")
        # A public route with alice's valid token counts on alice too.
        assert requests.get(gateway + "/api/products", headers=alice[1], timeout=10).status_code == 429

        bob_answer = read_self(bob)
        assert bob_answer.status_code == 200 and bob_answer.headers["X-RateLimit-Remaining"] == "2"
        anonymous = requests.get(gateway + "/api/products", timeout=10)
        assert anonymous.status_code == 200 and anonymous.headers["X-RateLimit-Remaining"] == "2"
        assert re.search(rf"access: GET /api/products 429 \S+ user={alice[0]}$", gateway_log(tmp_path), re.M)


def test_two_gateways_sharing_redis_enforce_one_quota(stack, tmp_path):
    shared = {
        "RATELIMIT_ENABLED": "true",
        "RATELIMIT_DEFAULT": "5 per minute",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }
    # Two workers are allowed with Redis: one of the gateways runs them.
    with (
        own_gateway(stack, tmp_path / "a", GUNICORN_WORKERS="2", **shared) as gateway_a,
        own_gateway(stack, tmp_path / "b", **shared) as gateway_b,
    ):
        answers = [
            requests.get(gateway + "/api/products", timeout=10)
            for gateway in (gateway_a, gateway_a, gateway_a, gateway_b, gateway_b)
        ]
        assert [answer.status_code for answer in answers] == [200] * 5
        assert [answer.headers["X-RateLimit-Remaining"] for answer in answers] == ["4", "3", "2", "1", "0"]
        assert_json_error(requests.get(gateway_a + "/api/products", timeout=10), 429, "rate_limited")
        assert_json_error(requests.get(gateway_b + "/api/products", timeout=10), 429, "rate_limited")


def test_an_unreachable_redis_leaves_the_limits_counting_in_memory(stack, tmp_path):
    with own_gateway(
        stack,
        tmp_path,
        RATELIMIT_ENABLED="true",
        RATELIMIT_DEFAULT="2 per minute",
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}",
    ) as gateway:
        statuses = [requests.get(gateway + "/api/products", timeout=10).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]


def test_the_gateway_refuses_to_start_with_per_process_counters_and_several_workers(stack, tmp_path):
    environment = dict(
        stack.environments["gateway"],
        PORT=str(free_port()),
        GUNICORN_WORKERS="2",
        RATELIMIT_ENABLED="true",
        RATELIMIT_STORAGE_URI="memory://",
    )
    launcher.start_service("gateway", environment, tmp_path)
    try:
        with pytest.raises(RuntimeError, match="did not become healthy"):
            launcher.wait_until_healthy("gateway", environment, tmp_path, timeout=20)
    finally:
        launcher.stop_service("gateway", tmp_path)
    assert "GUNICORN_WORKERS=2 with RATELIMIT_STORAGE_URI=memory://" in gateway_log(tmp_path)
