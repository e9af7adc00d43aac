"""product_service/catalog.py: a catalog page's query string read into a filter, alone (no Flask, no SQL)."""

from decimal import Decimal

import pytest

from product_service.catalog import CatalogFilter, catalog_filter
from shop_common.errors import ValidationError


def test_no_parameter_is_every_product_newest_first():
    assert catalog_filter({}) == CatalogFilter()
    assert catalog_filter({"sort": "", "category": " ", "minPrice": "", "inStock": "false"}) == CatalogFilter()


def test_every_parameter_is_read():
    args = {
        "q": "mug",
        "category": " kitchen ",
        "minPrice": "5",
        "maxPrice": "19.99",
        "inStock": "TRUE",
        "sort": "-price",
    }
    assert catalog_filter(args) == CatalogFilter("mug", "kitchen", Decimal("5"), Decimal("19.99"), True, "-price")


@pytest.mark.parametrize(
    "args, parameters",
    [
        ({"sort": "price,name"}, ["sort"]),
        ({"minPrice": "1e3"}, ["minPrice"]),
        ({"maxPrice": "Infinity"}, ["maxPrice"]),
        ({"minPrice": "0.005"}, ["minPrice"]),
        ({"minPrice": "3", "maxPrice": "2.99"}, ["minPrice"]),
        ({"inStock": "1"}, ["inStock"]),
        ({"category": "x" * 65, "sort": "up", "q": "q" * 256}, ["q", "category", "sort"]),
    ],
)
def test_bad_values_are_refused_naming_each_parameter(args, parameters):
    with pytest.raises(ValidationError) as refused:
        catalog_filter(args)
    assert list(refused.value.fields) == parameters
