"""The product service's SQL, straight against the test database."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pymysql
import pytest

from product_service import repository
from product_service.catalog import CatalogFilter
from shop_common.db import execute, get_db


@pytest.fixture(autouse=True)
def app_context(app):
    with app.app_context():
        yield


def insert(name="Mug", price=Decimal("9.50"), stock=3, description=None, image_url=None, category=None):
    return repository.insert_product(name, description, price, stock, image_url, category)


def test_insert_and_find_give_price_and_time_as_the_api_writes_them():
    before = datetime.now(UTC).replace(microsecond=0)
    product_id = insert(price=Decimal("19.90"), description="Blue", image_url="https://example.com/m.png")
    product = repository.find_product(product_id)
    assert product["price"] == "19.90"
    created_at = datetime.strptime(product["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= created_at <= datetime.now(UTC)
    assert {key: product[key] for key in ("name", "description", "stock", "image_url")} == {
        "name": "Mug",
        "description": "Blue",
        "stock": 3,
        "image_url": "https://example.com/m.png",
    }
    assert repository.find_product(product_id + 1000) is None


def test_the_database_itself_refuses_negative_stock():
    with pytest.raises(pymysql.err.OperationalError):
        insert(stock=-1)
    assert counted() == 0


def counted(catalog_filter=repository.ALL_PRODUCTS):
    """How many products match, asked on its own."""
    where, params = repository._catalog_where(catalog_filter)
    return execute(f"SELECT COUNT(*) AS total FROM products{where}", params).fetchone()["total"]


def listed(limit=10, offset=0, name_query=""):
    catalog_filter = CatalogFilter(name_query=name_query)
    page, total = repository.list_products(limit, offset, catalog_filter)
    assert total == counted(catalog_filter)
    return json.loads(page)


def test_list_is_newest_first_and_paginated_with_the_total_of_every_page():
    ids = [insert(f"Product {n}") for n in range(4)]
    assert [product["id"] for product in listed(10, 0)] == ids[::-1]
    assert [product["id"] for product in listed(2, 1)] == [ids[2], ids[1]]
    assert listed(10, 4) == [] and listed(10, 99) == []
    assert repository.list_products(10, 99) == ("[]", 4)
    assert counted() == 4


def test_an_empty_catalog_is_an_empty_page_of_none():
    assert repository.list_products(10, 0) == ("[]", 0)
    assert repository.list_products(10, 5, CatalogFilter(name_query="mug")) == ("[]", 0)


@pytest.mark.parametrize(
    "name, description, image_url",
    [
        ("Plain mug", None, None),
        (
            'Quote " back\\slash / tab\t new\nline \x01 \x7f',
            "Café ☕ 北京 😀 \u2028 end",
            "https://example.com/a?b=c&d=%20",
        ),
        ("", "", "http://example.com/"),
    ],
)
def test_a_listed_product_is_exactly_the_product_found_by_id(name, description, image_url):
    """The JSON the database writes (a page, a product read by id) and the row Python reads must agree."""
    product_id = insert(name=name, price=Decimal("1234567.05"), description=description, image_url=image_url)
    assert listed() == [repository.find_product(product_id)]
    assert json.loads(repository.product_json(product_id)) == repository.find_product(product_id)
    assert repository.product_json(product_id + 1000) is None


# A product's JSON as MariaDB built it on every read before each row kept its own (migration
# 0004): what the API answered, so the stored text must be this, byte for byte.
BUILT_JSON = "JSON_OBJECT(" + ", ".join(f"'{field}', {sql}" for field, sql in repository._PRODUCT_FIELDS.items()) + ")"


def built_json(product_id):
    return execute(f"SELECT {BUILT_JSON} AS product FROM products WHERE id = %s", (product_id,)).fetchone()["product"]


@pytest.mark.parametrize(
    "name, description, image_url, created_at",
    [
        ("Plain mug", None, None, "1970-01-01 00:00:01"),
        (
            'Quote " back\\slash \t\n \x01 \x7f',
            "Café ☕ 北京 😀 \u2028 end",
            "https://example.com/?a=%20",
            "2024-02-29 23:59:59",
        ),
        ("", "", "http://example.com/", "2038-01-19 03:14:07"),
        ("Mug", "x" * 10000, "https://example.com/" + "a" * 2000, "2026-12-31 00:00:00"),
    ],
)
def test_the_stored_json_is_the_json_the_database_built(name, description, image_url, created_at):
    product_id = insert(name=name, price=Decimal("12345678.05"), description=description, image_url=image_url)
    other_id = insert(name="Other", price=Decimal("0.00"), stock=0, category="Kitchen")
    execute("UPDATE products SET created_at = %s WHERE id = %s", (created_at, product_id))
    assert repository.product_json(product_id) == built_json(product_id)
    page, _ = repository.list_products(10, 0)
    assert page == f"[{built_json(other_id)},{built_json(product_id)}]"


def test_the_stored_json_follows_every_change_of_the_row():
    product_id = insert(stock=5, category="Kitchen")
    changes = [
        lambda: repository.update_product(product_id, {"name": "Cup", "description": "Red", "price": Decimal("0.5")}),
        lambda: repository.update_product(product_id, {"stock": 9, "image_url": "https://example.com/c.png"}),
        lambda: repository.update_product(product_id, {"category": None, "description": None}),
        lambda: repository.reserve_stock("11111111-1111-1111-1111-111111111111", {product_id: 4}),
        lambda: repository.release_stock("11111111-1111-1111-1111-111111111111"),
    ]
    stocks = []
    for change in changes:
        change()
        assert repository.product_json(product_id) == built_json(product_id)
        stocks.append(json.loads(repository.product_json(product_id))["stock"])
    assert stocks == [5, 9, 9, 5, 9]


@pytest.mark.parametrize(
    "name_query, expected",
    [
        ("mug", ["500 mugs", "50% off mug"]),
        ("50%", ["50% off mug"]),
        ("cup_", ["cup_a"]),
        ("\\", ["back\\slash"]),
        ("%", ["50% off mug"]),
        ("nothing like it", []),
    ],
)
def test_name_search_takes_wildcards_literally(name_query, expected):
    for name in ("50% off mug", "500 mugs", "cup_a", "cupxa", "back\\slash"):
        insert(name)
    found = [product["name"] for product in listed(10, 0, name_query)]
    assert sorted(found) == sorted(expected)
    assert counted(CatalogFilter(name_query=name_query)) == len(expected)


def test_update_changes_only_the_given_columns_and_none_clears():
    product_id = insert(description="Blue", image_url="https://example.com/m.png")
    repository.update_product(product_id, {"stock": 7, "description": None})
    product = repository.find_product(product_id)
    assert product["stock"] == 7 and product["description"] is None
    assert product["name"] == "Mug" and product["price"] == "9.50"
    assert product["image_url"] == "https://example.com/m.png"


@pytest.mark.parametrize("changes", [{}, {"id": 5}, {"stock": 1, "created_at = NOW(), name": "x"}])
def test_update_refuses_columns_it_does_not_know(changes):
    product_id = insert()
    with pytest.raises(ValueError):
        repository.update_product(product_id, changes)
    assert repository.find_product(product_id)["stock"] == 3


def test_delete_tells_whether_a_product_was_deleted():
    product_id = insert()
    assert repository.delete_product(product_id) is True
    assert repository.delete_product(product_id) is False
    assert counted() == 0


def test_a_transaction_a_request_left_open_is_rolled_back_when_its_connection_goes_back(app):
    """The pool rolls back what was begun and not finished (shop_common/db.py, reset=False)."""
    with app.app_context():
        connection = get_db()
        connection.begin()
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO products (name, price, stock) VALUES ('Left open', 1, 1)")
    with get_db().cursor() as cursor:
        cursor.execute("SELECT COUNT(*) AS n FROM products WHERE name = 'Left open'")
        assert cursor.fetchone()["n"] == 0


@pytest.mark.parametrize("sort", sorted(repository.ORDER_BY))
def test_a_full_page_keeps_its_order_and_its_count_comes_last(sort):
    """The count rides as the UNION ALL's last row: a page of the largest size is every product, in order."""
    for n in range(150):
        insert(f"Product {n * 7 % 150:03d}", price=Decimal(n % 13), stock=n % 4)
    in_stock = CatalogFilter(in_stock=True, sort=sort)
    for catalog_filter in (CatalogFilter(sort=sort), in_stock):
        where, params = repository._catalog_where(catalog_filter)
        expected = execute(
            f"SELECT id FROM products{where} ORDER BY {repository.ORDER_BY[sort]} LIMIT 500", params
        ).fetchall()
        page, total = repository.list_products(500, 0, catalog_filter)
        assert [product["id"] for product in json.loads(page)] == [row["id"] for row in expected]
        assert total == len(expected) == counted(catalog_filter)
