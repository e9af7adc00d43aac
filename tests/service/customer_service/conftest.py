import pytest
import requests

from customer_service import create_app
from tests.service.conftest import empty_tables
from tests.support import app_test_config, unique_name


@pytest.fixture(scope="session")
def app_with(unit_databases, user_service_url, transaction_service_url):
    """Builds a customer app of its own: the tests' settings, ``settings`` changed (a service out of reach)."""

    def build(**settings):
        config = dict(
            app_test_config(unit_databases["customer_db"]),
            USER_SERVICE_URL=user_service_url,
            TRANSACTION_SERVICE_URL=transaction_service_url,
        )
        return create_app({**config, **settings})

    return build


@pytest.fixture(scope="session")
def app(app_with):
    return app_with()


@pytest.fixture(autouse=True)
def empty_customers(app):
    empty_tables(app, "customers")


@pytest.fixture
def new_user(user_service_url):
    """Register a real user on the user service; returns (user_id, username)."""

    def register():
        username = unique_name()
        response = requests.post(
            f"{user_service_url}/api/users/register", json={"username": username, "password": "password-123"}, timeout=5
        )
        assert response.status_code == 201, response.text
        return response.json()["userId"], username

    return register


@pytest.fixture
def create_profile(client, tokens, new_user):
    """A user with a profile; returns (user_id, customer_id, owner headers)."""

    def create(**fields):
        user_id, username = new_user()
        headers = tokens.for_user(user_id)
        body = {"userId": user_id, "name": "Ada Lovelace", "email": f"{username}@example.com", **fields}
        response = client.post("/api/customers", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        return user_id, response.get_json()["customerId"], headers

    return create
