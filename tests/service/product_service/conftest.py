import pytest

from product_service import create_app
from tests.service.conftest import empty_tables
from tests.support import app_test_config


@pytest.fixture(scope="session")
def app(unit_databases):
    return create_app(app_test_config(unit_databases["product_db"]))


@pytest.fixture(autouse=True)
def empty_products(app):
    empty_tables(app, "stock_reservations", "products")


@pytest.fixture
def create_product(client, tokens):
    """Create a product as admin and return its id."""

    def create(name="Mug", price="9.50", **fields):
        response = client.post("/api/products", json={"name": name, "price": price, **fields}, headers=tokens.admin())
        assert response.status_code == 201, response.get_json()
        return response.get_json()["productId"]

    return create
