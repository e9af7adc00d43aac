"""The catalog through the gateway: anyone reads it, only an admin changes it."""

import uuid

import pytest

from tests.support import unique_name


@pytest.fixture
def customer_headers(api):
    """A customer registered and logged in through the gateway."""
    username, password = unique_name(), "catalog-password-1"
    assert api.post("/api/users/register", json={"username": username, "password": password}).status_code == 201
    login = api.post("/api/users/login", json={"username": username, "password": password})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


@pytest.fixture
def product(api, admin_headers):
    """A product created by the admin, with a name no other test uses."""
    response = api.post(
        "/api/products", headers=admin_headers, json={"name": unique_name("mug"), "price": "19.99", "stock": 5}
    )
    assert response.status_code == 201, response.text
    return response.json()


def change_requests(product_id):
    """(method, path, body) of every route that changes the catalog."""
    return [
        ("POST", "/api/products", {"name": unique_name("mug"), "price": "1.00"}),
        ("PUT", f"/api/products/{product_id}", {"stock": 0}),
        ("DELETE", f"/api/products/{product_id}", None),
    ]


def test_anyone_lists_searches_and_reads_products_without_a_token(api, product):
    listed = api.get("/api/products", params={"q": product["name"]})
    assert listed.status_code == 200
    assert listed.json() == [{key: value for key, value in product.items() if key not in ("message", "productId")}]
    assert listed.headers["X-Total-Count"] == "1"

    read = api.get(f"/api/products/{product['id']}")
    assert read.status_code == 200 and read.json()["price"] == "19.99"
    assert api.get("/api/products", params={"q": unique_name("nothing")}).json() == []


def test_without_a_token_the_gateway_refuses_changes_before_forwarding(api, stack, product):
    for method, path, body in change_requests(product["id"]):
        request_id = f"no-token-{uuid.uuid4().hex}"
        response = api.request(method, path, json=body, headers={"X-Request-ID": request_id})
        assert response.status_code == 401 and response.json()["error"] == "unauthorized", method
        assert request_id not in stack.log("product"), method
    assert api.get(f"/api/products/{product['id']}").json()["stock"] == 5


def test_a_customer_may_not_change_the_catalog(api, customer_headers, product):
    for method, path, body in change_requests(product["id"]):
        response = api.request(method, path, json=body, headers=customer_headers)
        assert response.status_code == 403 and response.json()["error"] == "forbidden", method
    assert api.get(f"/api/products/{product['id']}").json()["stock"] == 5


def test_an_admin_creates_updates_and_deletes_a_product(api, admin_headers):
    name = unique_name("teapot")
    created = api.post(
        "/api/products",
        headers=admin_headers,
        json={"name": name, "price": 19.9, "imageUrl": "https://example.com/teapot.png"},
    )
    assert created.status_code == 201, created.text
    product_id = created.json()["productId"]
    assert created.json()["price"] == "19.90" and created.json()["stock"] == 0

    updated = api.put(f"/api/products/{product_id}", headers=admin_headers, json={"stock": 12})
    assert updated.status_code == 200
    assert updated.json()["product"]["stock"] == 12 and updated.json()["product"]["name"] == name

    refused = api.put(f"/api/products/{product_id}", headers=admin_headers, json={"price": "abc"})
    assert refused.status_code == 400 and "price" in refused.json()["fields"]

    deleted = api.delete(f"/api/products/{product_id}", headers=admin_headers)
    assert deleted.status_code == 200 and deleted.json()["productId"] == product_id
    missing = api.get(f"/api/products/{product_id}")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
