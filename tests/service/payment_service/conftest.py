import pytest

from payment_sandbox import create_app as create_sandbox
from payment_service import create_app
from tests.service.conftest import empty_tables, serve_in_thread
from tests.support import app_test_config

SANDBOX_KEY = {"Authorization": "Bearer sk_test_sandbox"}


@pytest.fixture(scope="session")
def sandbox_app(unit_databases):
    return create_sandbox(app_test_config(unit_databases["payment_sandbox_db"]))


@pytest.fixture(scope="session")
def sandbox_url(sandbox_app):
    """A real sandbox, served from a thread, for the payment service to charge through."""
    url, server = serve_in_thread(sandbox_app)
    yield url
    server.shutdown()


@pytest.fixture(scope="session")
def app(unit_databases, sandbox_url):
    return create_app(
        dict(
            app_test_config(unit_databases["payment_db"]),
            PAYMENT_PROVIDER_URL=sandbox_url,
            PAYMENT_PROVIDER_TIMEOUT=1.0,
        )
    )


@pytest.fixture(autouse=True)
def empty_databases(app, sandbox_app):
    empty_tables(app, "payments")
    empty_tables(sandbox_app, "refunds", "charges", "behaviour")


@pytest.fixture
def sandbox(sandbox_app):
    """The sandbox's test client: its ledger and behaviour."""

    class Sandbox:
        client = sandbox_app.test_client()

        def charges(self):
            return self.client.get("/v1/charges", headers=SANDBOX_KEY).get_json()["data"]

        def behave(self, **behaviour):
            assert (
                self.client.post("/v1/test_helpers/behaviour", json=behaviour, headers=SANDBOX_KEY).status_code == 200
            )

    return Sandbox()


@pytest.fixture
def pay(client, tokens):
    """POST /internal/payments as the transaction service: the response."""

    def post(key="order-r1-charge", order_id=12, amount="19.00", payment_method="pm_card_visa"):
        body = {"orderId": order_id, "amount": amount, "paymentMethod": payment_method}
        return client.post("/internal/payments", json=body, headers={**tokens.service(), "Idempotency-Key": key})

    return post
