"""End-to-end tier: the real processes under gunicorn (the services and the payment sandbox), on free ports,
with their own databases.

The stack is started once per test session with the same launcher as
``make run-all`` (tools/stack.py) and stopped at the end, so ``make test``
runs beside a developer's stack and leaves no process behind.
"""

from contextlib import contextmanager

import pytest
import requests

from tests.e2e.gateway_helpers import new_user
from tests.support import (
    DB_SERVER,
    TEST_JWT_SECRET,
    TEST_REVOCATION_PREFIX,
    create_test_databases,
    drop_test_databases,
)
from tools.throwaway_stack import ThrowawayStack

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin-password-for-tests"
SETTINGS = {
    "DB_HOST": DB_SERVER["host"],
    "DB_PORT": str(DB_SERVER["port"]),
    "DB_USER": DB_SERVER["user"],
    "DB_PASSWORD": DB_SERVER["password"],
    "JWT_SECRET_KEY": TEST_JWT_SECRET,
    "BCRYPT_ROUNDS": "4",
    "ADMIN_USERNAME": ADMIN_USERNAME,
    "ADMIN_PASSWORD": ADMIN_PASSWORD,
    "RATELIMIT_ENABLED": "false",
    "SERVICE_TIMEOUT": "3.0",
    # Longer than any order request can take with these timeouts (reserve:
    # up to 3 connects + 3 s read), so the sweeper never takes a live order.
    "SAGA_STALE_SECONDS": "8",
    "SAGA_SWEEP_SECONDS": "1",
    "REVOCATION_KEY_PREFIX": TEST_REVOCATION_PREFIX + "e2e:",
    "ERASURE_SWEEP_SECONDS": "1",
    # A provider slower than this is a 504 (the sandbox is made slow or late by the tests).
    "PAYMENT_PROVIDER_TIMEOUT": "2.0",
    # Longer than a payment request can take with that timeout, so the sweeper asks only about abandoned ones.
    "PAYMENT_STALE_SECONDS": "4",
    "PAYMENT_SWEEP_SECONDS": "1",
}


@pytest.fixture(scope="session")
def stack():
    with started_stack("e2e") as running:
        yield running


@contextmanager
def started_stack(tag, settings=None, service_settings=None):
    """The five services on free ports with databases of their own, stopped and dropped after.

    ``settings`` are added to every service's environment, ``service_settings``
    ({service: settings}) to one's.
    """
    databases = create_test_databases(tag)
    running = ThrowawayStack(
        databases, {**SETTINGS, **(settings or {})}, isolated=True, service_settings=service_settings
    )
    try:
        running.bootstrap_admin()
        running.start_all()
        yield running
    finally:
        running.remove()
        drop_test_databases(databases)


@pytest.fixture
def api(stack):
    """A requests session whose paths are relative to the gateway."""

    class Api(requests.Session):
        def request(self, method, url, *args, **kwargs):
            kwargs.setdefault("timeout", 10)
            return super().request(method, stack.gateway + url, *args, **kwargs)

    with Api() as session:
        yield session


@pytest.fixture
def admin_headers(api):
    response = api.post("/api/users/login", json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def user(api):
    """A customer registered and logged in through the stack's gateway: (user id, headers)."""
    return new_user(api)
