"""The transaction service in process, with a real customer and product service served from threads."""

import pytest

import customer_service
import product_service
from customer_service import repository as customer_repository
from product_service import repository as product_repository
from tests.service.conftest import empty_tables, serve_in_thread
from tests.support import app_test_config
from transaction_service import create_app


@pytest.fixture(scope="session")
def product_app(unit_databases):
    return product_service.create_app(app_test_config(unit_databases["product_db"]))


@pytest.fixture(scope="session")
def customer_app(unit_databases):
    return customer_service.create_app(app_test_config(unit_databases["customer_db"]))


@pytest.fixture(scope="session")
def service_urls(product_app, customer_app):
    product_url, product_server = serve_in_thread(product_app)
    customer_url, customer_server = serve_in_thread(customer_app)
    yield {"PRODUCT_SERVICE_URL": product_url, "CUSTOMER_SERVICE_URL": customer_url}
    product_server.shutdown()
    customer_server.shutdown()


@pytest.fixture(scope="session")
def app(unit_databases, service_urls, customer_app):
    """The app under test, also served from a thread: the customer service tells it of deleted profiles."""
    app = create_app(dict(app_test_config(unit_databases["transaction_db"]), **service_urls))
    url, server = serve_in_thread(app)
    customer_app.config["TRANSACTION_SERVICE_URL"] = url
    yield app
    server.shutdown()


@pytest.fixture(autouse=True)
def empty_orders(app):
    empty_tables(app, "transactions", "idempotency_keys")


@pytest.fixture
def make_product(product_app):
    def make(stock=10, price="19.99", name="Mug"):
        with product_app.app_context():
            return product_repository.insert_product(name, None, price, stock, None)

    return make


@pytest.fixture
def stock_of(product_app):
    def read(product_id):
        with product_app.app_context():
            return product_repository.find_product(product_id)["stock"]

    return read


@pytest.fixture
def make_customer(customer_app):
    """A customer profile for ``user_id``; returns the customer id."""
    counter = iter(range(10**6))

    def make(user_id):
        with customer_app.app_context():
            existing = customer_repository.find_customer_by_user_id(user_id)
            if existing:
                return existing["id"]
            return customer_repository.insert_customer(
                user_id, "Buyer", f"buyer{user_id}-{next(counter)}@example.com", None, None
            )

    return make


@pytest.fixture
def buyer(make_customer, tokens):
    """(customer id, owner headers) for a fresh user id."""
    user_ids = iter(range(500_000, 600_000))

    def make():
        user_id = next(user_ids)
        return make_customer(user_id), tokens.for_user(user_id)

    return make
