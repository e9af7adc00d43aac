import pytest

from tests.service.conftest import empty_tables
from tests.support import app_test_config, free_port
from user_service import create_app


@pytest.fixture(scope="session")
def app(unit_databases):
    # No customer service listens there: a deletion's profile erasure stays pending.
    return create_app(
        dict(app_test_config(unit_databases["user_db"]), CUSTOMER_SERVICE_URL=f"http://127.0.0.1:{free_port()}")
    )


@pytest.fixture(autouse=True)
def empty_users(app):
    empty_tables(app, "users")


@pytest.fixture
def register(client):
    """Register a user and return their id."""

    def register_user(username="alice", password="wonderland1", **extra):
        response = client.post("/api/users/register", json={"username": username, "password": password, **extra})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["userId"]

    return register_user
