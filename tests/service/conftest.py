"""Service tier: each service's Flask app, in process, against real MariaDB test databases.

A service that calls another gets the real other service, served from a thread
on a free port with its own test database, never a stand-in.
"""

import threading

import pytest
from werkzeug.serving import make_server

from shop_common.db import get_db
from tests.support import Tokens, app_test_config, create_test_databases, drop_test_databases, free_port


@pytest.fixture(scope="session")
def unit_databases():
    names = create_test_databases("unit")
    yield names
    drop_test_databases(names)


@pytest.fixture
def client(app):
    """A test client of the package's ``app`` fixture."""
    return app.test_client()


@pytest.fixture
def tokens(app):
    """Bearer headers signed with the package's ``app`` secret."""
    return Tokens(app)


def empty_tables(app, *tables):
    """Delete every row of ``tables`` in ``app``'s database, in this order, before a test."""
    with app.app_context(), get_db().cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {table}")


def serve_in_thread(app):
    """Serve ``app`` on a free loopback port; returns (url, server) — call server.shutdown() to stop."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def served(app):
    """:func:`serve_in_thread` for a fixture: yields the URL, stops the server after."""
    url, server = serve_in_thread(app)
    yield url
    server.shutdown()


@pytest.fixture(scope="session")
def user_service_url(unit_databases):
    """A real user service for the services that call it."""
    from user_service import create_app

    yield from served(create_app(app_test_config(unit_databases["user_db"])))


@pytest.fixture(scope="session")
def transaction_app(unit_databases):
    """The real transaction service, which records the profiles deleted (it asks no customer service here)."""
    from transaction_service import create_app

    return create_app(
        dict(app_test_config(unit_databases["transaction_db"]), CUSTOMER_SERVICE_URL=f"http://127.0.0.1:{free_port()}")
    )


@pytest.fixture(scope="session")
def transaction_service_url(transaction_app):
    url, server = serve_in_thread(transaction_app)
    yield url
    server.shutdown()
