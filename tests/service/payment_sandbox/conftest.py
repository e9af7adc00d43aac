import pytest

from payment_sandbox import create_app
from tests.service.conftest import empty_tables
from tests.support import app_test_config

SANDBOX_KEY = {"Authorization": "Bearer sk_test_sandbox"}


@pytest.fixture(scope="session")
def app(unit_databases):
    return create_app(app_test_config(unit_databases["payment_sandbox_db"]))


@pytest.fixture(autouse=True)
def empty_ledger(app):
    empty_tables(app, "refunds", "charges", "behaviour")


@pytest.fixture
def charge(client):
    """POST /v1/charges with a key: the response."""

    def post(key, payment_method="pm_card_visa", amount="19.00", **fields):
        body = {"amount": amount, "currency": "usd", "payment_method": payment_method, **fields}
        return client.post("/v1/charges", json=body, headers={**SANDBOX_KEY, "Idempotency-Key": key})

    return post
