"""Product service routes through the Flask test client, against the real test database."""

import json

import pytest

from shop_common.db import get_db
from tests.support import assert_error

VALID = {
    "name": "Mug",
    "description": "Blue, 300 ml",
    "price": "19.99",
    "stock": 5,
    "imageUrl": "https://example.com/mug.png",
}
PRODUCT_KEYS = {"id", "name", "description", "price", "stock", "image_url", "category", "created_at"}

# Refused on create (merged into a valid body) and on update (sent alone).
INVALID_FIELDS = [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "a" * 256}, "name"),
    ({"name": 5}, "name"),
    ({"description": "x" * 10001}, "description"),
    ({"description": ["Blue"]}, "description"),
    ({"price": "abc"}, "price"),
    ({"price": -1}, "price"),
    ({"price": "NaN"}, "price"),
    ({"price": "Infinity"}, "price"),
    ({"price": 1.999}, "price"),
    ({"price": 100000000}, "price"),
    ({"price": True}, "price"),
    # Outside docs/openapi.yaml's pattern, though Decimal() takes each of them.
    *[({"price": text}, "price") for text in ["١٢", "1_000", "1e2", "-0", "+5", " 5 ", "5.", ".5"]],
    ({"stock": -1}, "stock"),
    ({"stock": 1.5}, "stock"),
    ({"stock": "5"}, "stock"),
    ({"stock": True}, "stock"),
    ({"stock": 2147483648}, "stock"),
    ({"imageUrl": "ftp://x"}, "imageUrl"),
    ({"imageUrl": "javascript:alert(1)"}, "imageUrl"),
    ({"imageUrl": ""}, "imageUrl"),
    ({"imageUrl": 5}, "imageUrl"),
    ({"imageUrl": "https://example.com/" + "a" * 2029}, "imageUrl"),
    ({"category": ""}, "category"),
    ({"category": "c" * 65}, "category"),
    ({"category": 5}, "category"),
    ({"category": "tab\there"}, "category"),
]

NOT_JSON_OBJECTS = [
    ("{bad json", "application/json", 400, "invalid_json"),
    ("[1, 2]", "application/json", 400, "invalid_json"),
    ("name=Mug&price=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ('{"name": "Mug", "price": 1}', "text/plain", 415, "unsupported_media_type"),
]


def stored_products(app):
    """Every row of the catalog, as the database holds it."""
    with app.app_context(), get_db().cursor() as cursor:
        cursor.execute("SELECT * FROM products ORDER BY id")
        return list(cursor.fetchall())


# ------------------------------------------------------------------ create


def test_an_admin_creates_a_product(client, tokens):
    response = client.post("/api/products", json=VALID, headers=tokens.admin())
    assert response.status_code == 201
    body = response.get_json()
    assert body["message"] and body["productId"] == body["id"]
    assert set(body) == PRODUCT_KEYS | {"message", "productId"}
    assert body["name"] == "Mug" and body["description"] == "Blue, 300 ml"
    assert body["price"] == "19.99" and body["stock"] == 5
    assert body["image_url"] == "https://example.com/mug.png"
    assert body["created_at"].endswith("Z")


def test_only_name_and_price_are_needed_and_unknown_fields_are_ignored(client, tokens):
    response = client.post(
        "/api/products",
        headers=tokens.admin(),
        json={"name": "Mug", "price": 3, "id": 987654321, "image_url": "https://x.example"},
    )
    body = response.get_json()
    assert response.status_code == 201 and body["id"] != 987654321
    assert body["stock"] == 0 and body["description"] is None and body["image_url"] is None


@pytest.mark.parametrize(
    "sent, answered",
    [
        ("19.99", "19.99"),
        (19.99, "19.99"),
        (19.9, "19.90"),
        (0, "0.00"),
        ("7", "7.00"),
        (0.1, "0.10"),
        ("99999999.99", "99999999.99"),
    ],
)
def test_price_is_answered_as_an_exact_two_decimal_string(client, tokens, sent, answered):
    created = client.post("/api/products", json=dict(VALID, price=sent), headers=tokens.admin()).get_json()
    assert created["price"] == answered
    assert client.get(f"/api/products/{created['id']}").get_json()["price"] == answered


@pytest.mark.parametrize("bad, field", [*INVALID_FIELDS, ({"name": None}, "name"), ({"price": None}, "price")])
def test_create_refuses_invalid_fields_and_stores_nothing(client, tokens, app, bad, field):
    body = assert_error(
        client.post("/api/products", json={**VALID, **bad}, headers=tokens.admin()), 400, "validation_error"
    )
    assert field in body["fields"]
    assert stored_products(app) == []


@pytest.mark.parametrize("missing", ["name", "price"])
def test_create_needs_a_name_and_a_price(client, tokens, app, missing):
    body = {key: value for key, value in VALID.items() if key != missing}
    problems = assert_error(client.post("/api/products", json=body, headers=tokens.admin()), 400)["fields"]
    assert problems == {missing: "is required"}
    assert stored_products(app) == []


def test_every_problem_is_reported_at_once(client, tokens):
    body = {"name": "", "price": -1, "stock": 1.5, "imageUrl": "ftp://x"}
    problems = assert_error(client.post("/api/products", json=body, headers=tokens.admin()), 400)["fields"]
    assert set(problems) == {"name", "price", "stock", "imageUrl"}


@pytest.mark.parametrize("data, content_type, status, code", NOT_JSON_OBJECTS)
def test_create_refuses_bodies_that_are_not_a_json_object(client, tokens, app, data, content_type, status, code):
    response = client.post("/api/products", data=data, content_type=content_type, headers=tokens.admin())
    assert_error(response, status, code)
    assert stored_products(app) == []


# ------------------------------------------------------------------- reads


def test_anyone_reads_a_product_without_a_token(client, create_product):
    product_id = create_product(**VALID)
    response = client.get(f"/api/products/{product_id}")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == PRODUCT_KEYS
    assert body["id"] == product_id and body["price"] == "19.99"


@pytest.mark.parametrize(
    "path",
    [
        "/api/products/999999",
        "/api/products/1abc",
        "/api/products/0",
        "/api/products/-1",
        "/api/products/01",
        "/api/products/abc",
    ],
)
def test_unknown_ids_and_ids_that_are_not_positive_integers_are_json_404(client, path):
    assert_error(client.get(path), 404, "not_found")


def test_list_is_public_paginated_newest_first_with_total(client, create_product):
    ids = [create_product(f"Product {n}") for n in range(5)]
    response = client.get("/api/products?limit=2&offset=1")
    assert response.status_code == 200
    assert response.headers["X-Total-Count"] == "5"
    assert [product["id"] for product in response.get_json()] == [ids[3], ids[2]]
    assert all(set(product) == PRODUCT_KEYS for product in response.get_json())


def test_an_empty_list_is_200_empty_array(client):
    response = client.get("/api/products")
    assert response.status_code == 200 and response.get_json() == []
    assert response.headers["X-Total-Count"] == "0"


@pytest.mark.parametrize(
    "query, expected",
    [
        ("q=mug", ["500 mugs", "50% off mug"]),
        ("q=MUG", ["500 mugs", "50% off mug"]),
        ("q=50%25", ["50% off mug"]),
        ("q=cup_", ["cup_a"]),
        ("q=", ["cupxa", "cup_a", "500 mugs", "50% off mug"]),
        ("q=teapot", []),
    ],
)
def test_q_searches_names_taking_wildcards_literally(client, create_product, query, expected):
    for name in ("50% off mug", "500 mugs", "cup_a", "cupxa"):
        create_product(name)
    response = client.get(f"/api/products?{query}")
    assert response.status_code == 200
    assert [product["name"] for product in response.get_json()] == expected
    assert response.headers["X-Total-Count"] == str(len(expected))


def test_the_total_counts_every_match_not_just_the_page(client, create_product):
    for n in range(3):
        create_product(f"Mug {n}")
    create_product("Teapot")
    response = client.get("/api/products?q=mug&limit=1")
    assert len(response.get_json()) == 1 and response.headers["X-Total-Count"] == "3"


@pytest.mark.parametrize(
    "query, field",
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=abc", "limit"),
        ("offset=-1", "offset"),
        ("q=" + "a" * 256, "q"),
    ],
)
def test_bad_list_parameters_are_400(client, query, field):
    body = assert_error(client.get(f"/api/products?{query}"), 400)
    assert field in body["fields"]


# ------------------------------------------------------------------ update


def test_a_partial_update_changes_only_the_field_sent(client, tokens, app, create_product):
    product_id = create_product(**VALID)
    before = stored_products(app)[0]
    response = client.put(f"/api/products/{product_id}", json={"stock": 9}, headers=tokens.admin())
    assert response.status_code == 200
    body = response.get_json()
    assert body["message"] and body["product"]["stock"] == 9 and body["product"]["price"] == "19.99"
    after = stored_products(app)
    assert after == [dict(before, stock=9, api_json=after[0]["api_json"])]
    assert json.loads(after[0]["api_json"]) == dict(json.loads(before["api_json"]), stock=9)


def test_an_update_answers_the_whole_product(client, tokens, create_product):
    product_id = create_product(**VALID)
    changes = {
        "name": "Big mug",
        "description": "Red",
        "price": 24.5,
        "stock": 0,
        "imageUrl": "http://example.com/big.png",
    }
    product = client.put(f"/api/products/{product_id}", json=changes, headers=tokens.admin()).get_json()["product"]
    assert set(product) == PRODUCT_KEYS
    assert (product["name"], product["description"], product["price"], product["stock"], product["image_url"]) == (
        "Big mug",
        "Red",
        "24.50",
        0,
        "http://example.com/big.png",
    )
    assert client.get(f"/api/products/{product_id}").get_json() == product


def test_null_clears_description_and_image_url(client, tokens, create_product):
    product_id = create_product(**VALID)
    response = client.put(
        f"/api/products/{product_id}", json={"description": None, "imageUrl": None}, headers=tokens.admin()
    )
    product = response.get_json()["product"]
    assert product["description"] is None and product["image_url"] is None
    assert product["name"] == "Mug" and product["stock"] == 5


@pytest.mark.parametrize(
    "bad, field",
    [
        *INVALID_FIELDS,
        ({"name": None}, "name"),
        ({"price": None}, "price"),
        ({"stock": None}, "stock"),
        ({}, "body"),
        ({"image_url": "https://example.com/x.png", "id": 1}, "body"),
        ({"stock": 3, "price": "abc"}, "price"),
    ],
)
def test_update_refuses_invalid_fields_and_changes_nothing(client, tokens, app, create_product, bad, field):
    product_id = create_product(**VALID)
    before = stored_products(app)
    body = assert_error(
        client.put(f"/api/products/{product_id}", json=bad, headers=tokens.admin()), 400, "validation_error"
    )
    assert field in body["fields"]
    assert stored_products(app) == before


@pytest.mark.parametrize("data, content_type, status, code", NOT_JSON_OBJECTS)
def test_update_refuses_bodies_that_are_not_a_json_object(
    client, tokens, app, create_product, data, content_type, status, code
):
    product_id = create_product(**VALID)
    before = stored_products(app)
    response = client.put(f"/api/products/{product_id}", data=data, content_type=content_type, headers=tokens.admin())
    assert_error(response, status, code)
    assert stored_products(app) == before


def test_updating_an_unknown_product_is_404(client, tokens, app):
    assert_error(client.put("/api/products/999999", json={"stock": 1}, headers=tokens.admin()), 404, "not_found")
    assert stored_products(app) == []


# ------------------------------------------------------------------ delete


def test_an_admin_deletes_a_product_once(client, tokens, app, create_product):
    product_id = create_product()
    response = client.delete(f"/api/products/{product_id}", headers=tokens.admin())
    assert response.status_code == 200
    assert response.get_json()["productId"] == product_id and response.get_json()["message"]
    assert stored_products(app) == []
    assert_error(client.delete(f"/api/products/{product_id}", headers=tokens.admin()), 404, "not_found")
    assert_error(client.get(f"/api/products/{product_id}"), 404)


# ------------------------------------------------------------ who may change

CHANGES = [
    ("post", "/api/products", VALID),
    ("put", "/api/products/{product_id}", {"stock": 0}),
    ("delete", "/api/products/{product_id}", None),
]


@pytest.mark.parametrize("method, path, body", CHANGES, ids=["POST", "PUT", "DELETE"])
def test_changes_without_a_token_are_401_and_change_nothing(client, app, create_product, method, path, body):
    path = path.format(product_id=create_product(**VALID))
    before = stored_products(app)
    assert_error(getattr(client, method)(path, json=body), 401, "unauthorized")
    assert stored_products(app) == before


@pytest.mark.parametrize("method, path, body", CHANGES, ids=["POST", "PUT", "DELETE"])
def test_changes_by_a_customer_are_403_and_change_nothing(client, tokens, app, create_product, method, path, body):
    path = path.format(product_id=create_product(**VALID))
    before = stored_products(app)
    assert_error(getattr(client, method)(path, json=body, headers=tokens.for_user(7)), 403, "forbidden")
    assert stored_products(app) == before


def test_reads_do_not_look_at_the_token_but_changes_refuse_a_forged_one(client, create_product):
    product_id = create_product()
    forged = {"Authorization": "Bearer not-a-jwt"}
    assert client.get(f"/api/products/{product_id}", headers=forged).status_code == 200
    assert_error(client.delete(f"/api/products/{product_id}", headers=forged), 401, "unauthorized")


def test_health_reports_the_database(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "service": "product", "checks": {"database": "ok"}}
