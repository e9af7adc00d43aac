"""Session changes racing logins and refreshes, with real concurrent requests against the
five real processes (issue 20): once a change has answered, no token that a login or
refresh overlapping it issued works, at the gateway or at a service, for as long as the
token would live.

Each race is run many times. The two requests of one try are released together by a
barrier, and over the tries one starts from well before the other to well after it (a
login's time or two either way), so the change lands before, inside and after the other
request's critical part; the tests check that both orders happened. bcrypt cost 6
(some 20 ms here) gives a login a window worth hitting; the user service runs two worker
processes, as replicas would.

"Dead" is checked the way an attacker would use a token: its access token at the gateway,
at the user service and at the customer service, its refresh token at ``/refresh``; and
since an access token is refused by a Redis record that expires, the record that refuses
it must outlive the token's ``exp``.
"""

import base64
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
import redis
import requests

from tests.stacks import ADMIN_PASSWORD, ADMIN_USERNAME, started_stack
from tests.support import unique_name

TRIES = 24
PASSWORDS = ("race-password-1", "race-password-2")


@pytest.fixture(scope="module")
def stack():
    with started_stack("races", {"BCRYPT_ROUNDS": "6"}, {"user": {"GUNICORN_WORKERS": "2"}}) as running:
        yield running


@pytest.fixture(scope="module")
def admin(stack):
    return {"Authorization": f"Bearer {log_in(stack, ADMIN_USERNAME, ADMIN_PASSWORD).json()['access_token']}"}


@pytest.fixture(scope="module")
def login_seconds(stack, admin):
    """How long a login takes here, the median of a few: the delays are measured in it."""
    username = register(stack, admin)[1]
    durations = []
    for _ in range(5):
        started = time.monotonic()
        assert log_in(stack, username).status_code == 200
        durations.append(time.monotonic() - started)
    return sorted(durations)[2]


# ------------------------------------------------------------------ helpers


def post(stack, path, body=None, headers=None):
    return requests.post(stack.gateway + path, json=body, headers=headers or {}, timeout=30)


def log_in(stack, username, password=PASSWORDS[0]):
    return post(stack, "/api/users/login", {"username": username, "password": password})


def refresh(stack, login):
    return post(stack, "/api/users/refresh", {"refreshToken": login["refresh_token"]})


def bearer(login):
    return {"Authorization": f"Bearer {login['access_token']}"}


def register(stack, admin, role="customer"):
    """A new user: (id, username)."""
    username = unique_name("racer")
    answer = post(stack, "/api/users/register", {"username": username, "password": PASSWORDS[0], "role": role}, admin)
    assert answer.status_code == 201, answer.text
    return answer.json()["userId"], username


def race(calls, delays):
    """Run ``calls`` at once, each in its thread, released by one barrier, the i-th after
    ``delays[i]`` seconds; their answers, in order."""
    barrier = threading.Barrier(len(calls))

    def run(call, delay):
        barrier.wait()
        time.sleep(delay)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls, delays))


def staggered(try_number, longest):
    """The delays of the two requests of try ``try_number``: over the tries, the first one
    starts from ``longest`` seconds before the second to ``longest`` seconds after it."""
    offset = longest * (2 * try_number / (TRIES - 1) - 1)
    return [max(offset, 0), max(-offset, 0)]


def claims(token):
    """A token's claims, read without checking its signature (the services check it)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def access_statuses(stack, login, path):
    """What the access token gets for ``path``: at the gateway, then straight at the service."""
    service = "customer" if path.startswith("/api/customers") else "user"
    return [
        requests.get(url + path, headers=bearer(login), timeout=10).status_code
        for url in (stack.gateway, stack.urls[service])
    ]


def record_seconds_left(stack, token_claims):
    """How long the Redis record that refuses this access token will last (0: there is none)."""
    prefix = stack.environments["user"]["REVOCATION_KEY_PREFIX"]
    store = redis.Redis.from_url(stack.environments["user"]["REVOCATION_REDIS_URL"])
    seconds = [store.ttl(f"{prefix}login:{token_claims['fam']}")]
    epoch_key = f"{prefix}epoch:{token_claims['sub']}"
    epoch = store.get(epoch_key)
    if epoch is not None and token_claims["epoch"] < int(epoch):
        seconds.append(store.ttl(epoch_key))
    return max(seconds)


def assert_access_token_dead(stack, login):
    """The access token of ``login`` works nowhere, and stays refused for its whole life."""
    user_id = login["user"]["id"]
    assert access_statuses(stack, login, f"/api/users/{user_id}") == [401, 401]
    assert access_statuses(stack, login, f"/api/customers/user/{user_id}") == [401, 401]
    token_claims = claims(login["access_token"])
    assert record_seconds_left(stack, token_claims) >= token_claims["exp"] - time.time()


def assert_dead(stack, login):
    """Neither token of ``login`` works (the refresh token is revoked in the database, for good)."""
    assert_access_token_dead(stack, login)
    assert refresh(stack, login).status_code == 401


def assert_alive(stack, login):
    assert access_statuses(stack, login, f"/api/users/{login['user']['id']}") == [200, 200]


# ------------------------------------------------------------------ the races


def test_a_demotion_ends_a_login_that_was_in_flight(stack, admin, login_seconds):
    user_id, username = register(stack, admin, role="admin")
    demote = partial(
        requests.put, f"{stack.gateway}/api/users/{user_id}", json={"role": "customer"}, headers=admin, timeout=30
    )
    roles = []
    for try_number in range(TRIES):
        login, demoted = race([partial(log_in, stack, username), demote], staggered(try_number, 2 * login_seconds))
        assert demoted.status_code == 200 and login.status_code == 200, (demoted.text, login.text)
        login = login.json()
        roles.append(claims(login["access_token"])["role"])
        assert 200 not in access_statuses(stack, login, "/api/users")
        if roles[-1] == "admin":  # the login went first: the demotion ended its access token
            assert_access_token_dead(stack, login)
        renewed = refresh(stack, login).json()  # the login goes on, with the new role
        assert claims(renewed["access_token"])["role"] == "customer"
        assert access_statuses(stack, renewed, "/api/users") == [403, 403]
        restored = requests.put(
            f"{stack.gateway}/api/users/{user_id}", json={"role": "admin"}, headers=admin, timeout=30
        )
        assert restored.status_code == 200
    assert set(roles) == {"admin", "customer"}, roles  # both orders happened


def test_a_password_change_ends_a_login_made_with_the_old_password_while_it_ran(stack, admin, login_seconds):
    """The user changes their own password from one login while another logs in with the old one."""
    user_id, username = register(stack, admin)
    changer = log_in(stack, username).json()
    outcomes = []
    for try_number in range(TRIES):
        old, new = PASSWORDS[try_number % 2], PASSWORDS[(try_number + 1) % 2]
        change = partial(
            requests.put,
            f"{stack.gateway}/api/users/{user_id}",
            json={"password": new, "currentPassword": old},
            headers=bearer(changer),
            timeout=30,
        )
        changed, login = race([change, partial(log_in, stack, username, old)], staggered(try_number, 3 * login_seconds))
        assert changed.status_code == 200, changed.text
        outcomes.append(login.status_code)
        if login.status_code == 200:  # it went first: the change ended it
            assert_dead(stack, login.json())
        else:
            assert login.json()["error"] == "invalid_credentials", login.text
    assert_alive(stack, changer)
    assert set(outcomes) == {200, 401}, outcomes


def test_a_logout_racing_a_refresh_leaves_no_token_of_that_login(stack, admin, login_seconds):
    username = register(stack, admin)[1]
    outcomes = []
    for try_number in range(TRIES):
        login = log_in(stack, username).json()
        logout = partial(post, stack, "/api/users/logout", headers=bearer(login))
        logged_out, refreshed = race([logout, partial(refresh, stack, login)], staggered(try_number, 2 * login_seconds))
        assert logged_out.status_code == 200, logged_out.text
        outcomes.append(refreshed.status_code)
        assert_dead(stack, login)
        if refreshed.status_code == 200:  # it went first: the logout ended the pair it answered
            assert_dead(stack, {**refreshed.json(), "user": login["user"]})
    assert set(outcomes) == {200, 401}, outcomes


def test_a_logout_everywhere_racing_a_refresh_leaves_no_token_of_any_login(stack, admin, login_seconds):
    username = register(stack, admin)[1]
    outcomes = []
    for try_number in range(TRIES):
        device, other_device = log_in(stack, username).json(), log_in(stack, username).json()
        logout_all = partial(post, stack, "/api/users/logout-all", headers=bearer(device))
        logged_out, refreshed = race(
            [logout_all, partial(refresh, stack, other_device)], staggered(try_number, 2 * login_seconds)
        )
        assert logged_out.status_code == 200, logged_out.text
        outcomes.append(refreshed.status_code)
        assert_dead(stack, device)
        assert_dead(stack, other_device)
        if refreshed.status_code == 200:  # it went first: logout-all ended the pair it answered
            assert_dead(stack, {**refreshed.json(), "user": other_device["user"]})
    assert set(outcomes) == {200, 401}, outcomes


def test_twenty_presentations_of_one_refresh_token_end_the_whole_login(stack, admin):
    """The stolen-token case: one presentation wins, and the reuse ends its new pair too."""
    username = register(stack, admin)[1]
    for _ in range(TRIES // 4):
        login = log_in(stack, username).json()
        answers = race([partial(refresh, stack, login)] * 20, [0] * 20)
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200] + [401] * 19, statuses
        errors = {answer.json()["error"] for answer in answers if answer.status_code == 401}
        assert "refresh_token_reused" in errors and errors <= {"refresh_token_reused", "invalid_refresh_token"}
        [winner] = [answer.json() for answer in answers if answer.status_code == 200]
        assert_dead(stack, {**winner, "user": login["user"]})
        assert_dead(stack, login)


def test_a_deletion_racing_a_login_answers_401_never_500_and_leaves_no_token(stack, admin, login_seconds):
    outcomes = []
    for try_number in range(TRIES):
        user_id, username = register(stack, admin)
        delete = partial(requests.delete, f"{stack.gateway}/api/users/{user_id}", headers=admin, timeout=30)
        login, deleted = race([partial(log_in, stack, username), delete], staggered(try_number, 2 * login_seconds))
        assert deleted.status_code == 200, deleted.text
        outcomes.append(login.status_code)
        assert login.status_code in (200, 401), login.text
        if login.status_code == 200:
            assert_dead(stack, login.json())
    assert set(outcomes) == {200, 401}, outcomes
