"""Catalog browsing (issue 23): categories, filters and sort orders of ``GET /api/products``,
``GET /api/categories``, and the plan that keeps a filtered, sorted page one index read."""

import pytest

from product_service import repository
from product_service.catalog import CatalogFilter
from shop_common.db import get_db
from tests.support import assert_error

# name, price, stock, category: created oldest first.
CATALOG = [
    ("Blue mug", "9.50", 5, "kitchen"),
    ("Teapot", "24.00", 0, "kitchen"),
    ("Apron", "15.00", 2, "kitchen"),
    ("Novel", "12.99", 8, "books"),
    ("Atlas", "40.00", 1, "books"),
    ("Gift card", "25.00", 99, None),
]


@pytest.fixture
def catalog(create_product):
    """The products of :data:`CATALOG`, ``{name: id}``."""
    return {
        name: create_product(name, price, stock=stock, **({"category": category} if category else {}))
        for name, price, stock, category in CATALOG
    }


def names(client, query):
    response = client.get(f"/api/products?{query}")
    assert response.status_code == 200, response.get_json()
    return [product["name"] for product in response.get_json()], int(response.headers["X-Total-Count"])


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", ["Gift card", "Atlas", "Novel", "Apron", "Teapot", "Blue mug"]),
        ("sort=-created", ["Gift card", "Atlas", "Novel", "Apron", "Teapot", "Blue mug"]),
        ("sort=price", ["Blue mug", "Novel", "Apron", "Teapot", "Gift card", "Atlas"]),
        ("sort=-price", ["Atlas", "Gift card", "Teapot", "Apron", "Novel", "Blue mug"]),
        ("sort=name", ["Apron", "Atlas", "Blue mug", "Gift card", "Novel", "Teapot"]),
        ("category=kitchen", ["Apron", "Teapot", "Blue mug"]),
        ("category=kitchen&sort=price", ["Blue mug", "Apron", "Teapot"]),
        ("category=books&sort=name", ["Atlas", "Novel"]),
        ("category=garden", []),
        ("minPrice=12.99&maxPrice=24", ["Novel", "Apron", "Teapot"]),
        ("minPrice=25", ["Gift card", "Atlas"]),
        ("maxPrice=9.5", ["Blue mug"]),
        ("inStock=true&category=kitchen", ["Apron", "Blue mug"]),
        ("inStock=false&category=kitchen", ["Apron", "Teapot", "Blue mug"]),
        ("q=mu&category=kitchen", ["Blue mug"]),
        ("category=books&minPrice=10&maxPrice=50&inStock=true&sort=-price", ["Atlas", "Novel"]),
    ],
)
def test_filters_and_sort_orders(client, catalog, query, expected):
    assert names(client, query) == (expected, len(expected))


def test_a_page_of_a_filtered_sorted_list_counts_every_match(client, catalog):
    assert names(client, "category=kitchen&sort=price&limit=2&offset=1") == (["Apron", "Teapot"], 3)
    assert names(client, "category=kitchen&sort=price&limit=2&offset=9") == ([], 3)


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("sort=cheapest", "sort"),
        ("sort=created", "sort"),
        ("minPrice=abc", "minPrice"),
        ("minPrice=-1", "minPrice"),
        ("minPrice=1.001", "minPrice"),
        ("maxPrice=NaN", "maxPrice"),
        ("maxPrice=100000000", "maxPrice"),
        ("minPrice=5&maxPrice=4", "minPrice"),
        ("inStock=yes", "inStock"),
        ("category=" + "c" * 65, "category"),
        ("q=" + "a" * 256, "q"),
    ],
)
def test_bad_values_are_400_naming_the_parameter(client, catalog, query, parameter):
    body = assert_error(client.get(f"/api/products?{query}"), 400)
    assert list(body["fields"]) == [parameter]


def test_categories_list_each_category_with_its_product_count(client, catalog):
    response = client.get("/api/categories")
    assert response.status_code == 200
    assert response.get_json() == [{"name": "books", "product_count": 2}, {"name": "kitchen", "product_count": 3}]


def test_no_category_is_an_empty_list(client):
    response = client.get("/api/categories")
    assert response.status_code == 200 and response.get_json() == []


def test_an_admin_sets_changes_and_clears_a_category(client, tokens, create_product):
    product_id = create_product("Mug", category="  kitchen ")
    assert client.get(f"/api/products/{product_id}").get_json()["category"] == "kitchen"
    response = client.put(f"/api/products/{product_id}", json={"category": "gifts"}, headers=tokens.admin())
    assert response.status_code == 200 and response.get_json()["product"]["category"] == "gifts"
    response = client.put(f"/api/products/{product_id}", json={"category": None}, headers=tokens.admin())
    assert response.get_json()["product"]["category"] is None
    assert client.get("/api/categories").get_json() == []


def plan(app, catalog_filter):
    """EXPLAIN of the catalog page's query for ``catalog_filter``: the outer SELECT's row."""
    where, params = repository._catalog_where(catalog_filter)
    sql = f"EXPLAIN SELECT id FROM products{where} ORDER BY {repository.ORDER_BY[catalog_filter.sort]} LIMIT 20"
    with app.app_context(), get_db().cursor() as cursor:
        cursor.execute("ANALYZE TABLE products")
        cursor.execute(sql, params)
        return cursor.fetchall()[0]


def fill_catalog(app, count=400):
    """Enough products, in ten categories, that the optimiser prefers an index to a table scan."""
    rows = [(f"Product {n}", None, f"{n % 97}.50", n % 7, None, f"category {n % 10}") for n in range(count)]
    with app.app_context(), get_db().cursor() as cursor:
        cursor.executemany(
            "INSERT INTO products (name, description, price, stock, image_url, category) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            rows,
        )


@pytest.mark.parametrize(
    "catalog_filter, index",
    [
        (CatalogFilter(category="category 3", sort="price"), "ix_products_category_price"),
        (CatalogFilter(category="category 3", sort="-price", in_stock=True), "ix_products_category_price"),
        (CatalogFilter(category="category 3", sort="name"), "ix_products_category_name"),
        (CatalogFilter(category="category 3", sort="-created"), "ix_products_category"),
        (CatalogFilter(sort="price"), "ix_products_price"),
        (CatalogFilter(sort="name"), "ix_products_name"),
    ],
)
def test_a_filtered_sorted_page_is_one_index_read_without_a_sort(app, catalog_filter, index):
    """The plan docs/catalog.md shows: the index named, read in the page's order (no filesort)."""
    fill_catalog(app)
    row = plan(app, catalog_filter)
    assert row["key"] == index, row
    assert "filesort" not in (row["Extra"] or ""), row
