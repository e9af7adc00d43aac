"""Test helpers: throw-away databases, settings for test apps and stacks, tokens."""

import os
import re
import time
import uuid

import jwt
from flask_jwt_extended import create_access_token

from shop_common import schema
from shop_common.auth import create_user_token, service_token
from shop_common.settings import SERVICES
from tools.throwaway_stack import create_databases, drop_databases, free_port

__all__ = ["free_port"]  # tests import it from here

TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
DB_SERVER = {
    "host": os.environ.get("DB_HOST", "127.0.0.1"),
    "port": int(os.environ.get("DB_PORT", "3306")),
    "user": os.environ.get("DB_USER", "root"),
    "password": os.environ.get("DB_PASSWORD", ""),
}
# Debian's Chromium (.ci/run installs it), never a browser Playwright downloads, headless and quiet:
# the API reference's page (service tier) and the storefront (browser tier) are read in it.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
_TEST_DATABASE = re.compile(r"shoptest_(\d+)_\w+")
# This run's revocation records in the machine's Redis, apart from every other stack's.
TEST_REVOCATION_PREFIX = f"shoptest:{os.getpid()}:{uuid.uuid4().hex[:8]}:"


def create_test_databases(tag):
    """Fresh databases for one test run, named ``shoptest_<pid>_<tag>_<default>``.

    Databases left by an earlier run whose process is gone are dropped first.
    Returns ``{default name: test name}``.
    """
    names = {database: f"shoptest_{os.getpid()}_{tag}_{database}" for _, _, database in SERVICES.values() if database}
    with schema.server_connection(**DB_SERVER) as connection:
        _drop_stale(connection)
    create_databases(DB_SERVER, names)
    return names


def drop_test_databases(names):
    drop_databases(DB_SERVER, names)


def _drop_stale(connection):
    with connection.cursor() as cursor:
        cursor.execute("SHOW DATABASES LIKE 'shoptest\\_%'")
        stale = [
            name
            for (name,) in cursor.fetchall()
            if (match := _TEST_DATABASE.fullmatch(name)) and not _pid_alive(int(match.group(1)))
        ]
    schema.drop_databases(connection, stale)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def app_test_config(database):
    return {
        "TESTING": True,
        "DB_NAME": database,
        "DB_POOL_SIZE": 4,
        "JWT_SECRET_KEY": TEST_JWT_SECRET,
        "BCRYPT_ROUNDS": 4,
        "REVOCATION_KEY_PREFIX": TEST_REVOCATION_PREFIX,
    }


def unique_name(prefix="user"):
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


class Tokens:
    """Bearer headers for tests: real tokens signed with the app's (test) secret."""

    def __init__(self, app):
        self.app = app

    @staticmethod
    def header(token):
        return {"Authorization": f"Bearer {token}"}

    def for_user(self, user_id, role="customer"):
        with self.app.app_context():
            return self.header(create_user_token(user_id, role))

    def admin(self, user_id=999999):
        return self.for_user(user_id, "admin")

    def service(self):
        with self.app.app_context():
            return self.header(service_token())

    def raw(self, **kwargs):
        with self.app.app_context():
            return self.header(create_access_token(**kwargs))


def signed_token(key=TEST_JWT_SECRET, algorithm="HS256", lifetime=600, **claims):
    """A JWT shaped like the user service's, signed here for a running process to judge.

    An admin's unless ``claims`` say otherwise; a claim given as None is left out. Tests inside
    an app mint theirs with :class:`Tokens`, those outside with this.
    """
    now = int(time.time())
    payload = {
        "sub": "1",
        "role": "admin",
        "type": "access",
        "fresh": False,
        "jti": uuid.uuid4().hex,
        "iat": now - 10,
        "nbf": now - 10,
        "exp": now + lifetime,
        **claims,
    }
    return jwt.encode({name: value for name, value in payload.items() if value is not None}, key, algorithm=algorithm)


def assert_error(response, status, code=None):
    """Assert a Flask test response is the JSON error shape with this status (and code); return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) <= {"error", "message", "fields"}
    assert isinstance(body["message"], str) and body["message"]
    if code:
        assert body["error"] == code
    return body


def send_answer(handler, status, body, headers):
    """Answer from a stand-in's request handler: ``status``, ``headers`` (pairs), ``body`` with its length."""
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
