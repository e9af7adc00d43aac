"""What a catalog page asks for: the filters and the order of ``GET /api/products``, read from
its query string and checked here, free of Flask and SQL (the repository turns it into one query).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from shop_common.errors import ValidationError
from shop_common.validation import MAX_MONEY

MAX_NAME_QUERY_LENGTH = 255
MAX_CATEGORY_LENGTH = 64
# sort= value: what the page is ordered by. The default, newest first, is the catalog's order as before.
SORTS = ("-created", "price", "-price", "name")
DEFAULT_SORT = "-created"
FLAGS = {"true": True, "false": False}
# minPrice= and maxPrice=: what DECIMAL(10, 2) holds, written plainly.
PRICE = re.compile(r"[0-9]{1,8}(\.[0-9]{1,2})?")


@dataclass(frozen=True)
class CatalogFilter:
    """Which products a page holds and in what order; an empty field keeps every product."""

    name_query: str = ""
    category: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool = False
    sort: str = DEFAULT_SORT


def catalog_filter(args: Mapping[str, str]) -> CatalogFilter:
    """The filter of a query string (``q``, ``category``, ``minPrice``, ``maxPrice``, ``inStock``, ``sort``).

    :raise 400: naming every parameter that is not valid.
    """
    problems: dict[str, str] = {}
    name_query = args.get("q", "")
    if len(name_query) > MAX_NAME_QUERY_LENGTH:
        problems["q"] = f"must be at most {MAX_NAME_QUERY_LENGTH} characters"
    category = args.get("category", "").strip() or None
    if category is not None and len(category) > MAX_CATEGORY_LENGTH:
        problems["category"] = f"must be at most {MAX_CATEGORY_LENGTH} characters"
    min_price = _price(args, "minPrice", problems)
    max_price = _price(args, "maxPrice", problems)
    if min_price is not None and max_price is not None and min_price > max_price:
        problems["minPrice"] = "must not be more than maxPrice"
    in_stock = FLAGS.get(args.get("inStock", "false").lower())
    if in_stock is None:
        problems["inStock"] = "must be true or false"
    sort = args.get("sort", "") or DEFAULT_SORT
    if sort not in SORTS:
        problems["sort"] = f"must be one of {', '.join(SORTS)}"
    if problems:
        raise ValidationError(problems, "Invalid search parameters.")
    return CatalogFilter(name_query, category, min_price, max_price, bool(in_stock), sort)


def _price(args: Mapping[str, str], name: str, problems: dict[str, str]) -> Decimal | None:
    """A price bound as a price is written (``19.99``: no sign, exponent or third decimal); empty is none."""
    raw = args.get(name, "").strip()
    if not raw:
        return None
    if not PRICE.fullmatch(raw):
        problems[name] = f"must be a price from 0 to {MAX_MONEY}, with at most two decimals (19.99)"
        return None
    return Decimal(raw)
