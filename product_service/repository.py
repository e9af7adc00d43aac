"""Every SQL statement of the product service: the catalog, and the stock reservations of the order saga."""

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from pymysql.cursors import Cursor, DictCursor

from shop_common.db import Row, execute, get_db, transaction, update_columns

from .catalog import CatalogFilter

# A product as the API shows it: each field and the SQL that gives it. Price and time leave
# the database already as the API writes them ("19.99", ISO 8601 in UTC, the session's
# zone): parsing them into Python values only to write them out again was most of the
# service's work per request (docs/performance.md). (%% is pymysql's escape for %: every
# statement using these has parameters.)
_PRODUCT_FIELDS = {
    "id": "id",
    "name": "name",
    "description": "description",
    "price": "CAST(price AS CHAR)",
    "stock": "stock",
    "image_url": "image_url",
    "category": "category",
    "created_at": "DATE_FORMAT(created_at, '%%Y-%%m-%%dT%%H:%%i:%%sZ')",
}
PRODUCT_COLUMNS = ", ".join(f"{sql} AS {field}" for field, sql in _PRODUCT_FIELDS.items())
# The same product as the text of a JSON object, for a read by id and a catalog page: the id
# put first in the JSON every row keeps of its other fields (api_json, migration 0004), so
# MariaDB builds no JSON per read.
PRODUCT_JSON = "CONCAT('{\"id\": ', id, ', ', SUBSTRING(api_json, 2))"
UPDATABLE_COLUMNS = ("name", "description", "price", "stock", "image_url", "category")
ALL_PRODUCTS = CatalogFilter()
# The largest value of the stock column's INT: for a product's stock and what orders hold of it together.
MAX_STOCK = 2_147_483_647


# sort= of a catalog page and its ORDER BY: each one an index read in order (db_init.sql), the id
# breaking ties the way InnoDB's secondary keys already end with it.
ORDER_BY = {
    "-created": "id DESC",
    "price": "price, id",
    "-price": "price DESC, id DESC",
    "name": "name, id",
}


def _catalog_where(catalog_filter: CatalogFilter) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause keeping the products ``catalog_filter`` asks for, and its parameters.

    ``%``, ``_`` and ``\\`` are LIKE's wildcards and escape character, so they
    are escaped: a search for ``50%`` finds "50% off", not "500 mugs".
    """
    conditions: list[str] = []
    params: list[Any] = []
    if catalog_filter.name_query:
        escaped = catalog_filter.name_query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append("name LIKE %s")
        params.append(f"%{escaped}%")
    if catalog_filter.category is not None:
        conditions.append("category = %s")
        params.append(catalog_filter.category)
    if catalog_filter.min_price is not None:
        conditions.append("price >= %s")
        params.append(catalog_filter.min_price)
    if catalog_filter.max_price is not None:
        conditions.append("price <= %s")
        params.append(catalog_filter.max_price)
    if catalog_filter.in_stock:
        conditions.append("stock > 0")
    return (" WHERE " + " AND ".join(conditions) if conditions else ""), tuple(params)


def insert_product(
    name: str,
    description: str | None,
    price: Decimal,
    stock: int,
    image_url: str | None,
    category: str | None = None,
) -> int:
    return execute(
        "INSERT INTO products (name, description, price, stock, image_url, category) VALUES (%s, %s, %s, %s, %s, %s)",
        (name, description, price, stock, image_url, category),
    ).lastrowid


def find_product(product_id: int) -> Row | None:
    return execute(f"SELECT {PRODUCT_COLUMNS} FROM products WHERE id = %s", (product_id,)).fetchone()


def find_products(product_ids: Sequence[int]) -> Sequence[Row]:
    """The products among ``product_ids`` that exist, in one query (a cart's lines, for their price and stock)."""
    placeholders = ", ".join(["%s"] * len(product_ids))
    return execute(
        f"SELECT {PRODUCT_COLUMNS} FROM products WHERE id IN ({placeholders}) ORDER BY id", tuple(product_ids)
    ).fetchall()


def product_json(product_id: int) -> str | None:
    """A product as the text of a JSON object (:data:`PRODUCT_JSON`), None when there is no such product."""
    row = execute(f"SELECT {PRODUCT_JSON} AS product FROM products WHERE id = %s", (product_id,)).fetchone()
    return None if row is None else row["product"]


def list_products(limit: int, offset: int, catalog_filter: CatalogFilter = ALL_PRODUCTS) -> tuple[str, int]:
    """A page of the catalog in the filter's order, as the text of a JSON array; and how many products match.

    One round trip and one column: the page's rows, then one more row, the count. MariaDB runs
    a UNION ALL's parts in turn and sends their rows as they come (no temporary table), so the
    count is the last row, on a page past the end too. A count on every row, or its own query,
    had pymysql read a second column 100 times, or MariaDB a second statement. Rows are read
    as tuples: a dict per row was a tenth of the service's time per page.
    """
    where, params = _catalog_where(catalog_filter)
    with get_db().cursor(Cursor) as cursor:
        cursor.execute(
            f"(SELECT {PRODUCT_JSON} FROM products{where} ORDER BY {ORDER_BY[catalog_filter.sort]} LIMIT %s OFFSET %s) "
            f"UNION ALL (SELECT COUNT(*) FROM products{where})",
            (*params, limit, offset, *params),
        )
        *products, (total,) = cursor.fetchall()
    return "[" + ",".join(product for (product,) in products) + "]", int(total)


def list_categories() -> list[Row]:
    """Every category products have, by name, with how many products are in it (one read of ix_products_category)."""
    return execute(
        "SELECT category AS name, COUNT(*) AS product_count FROM products "
        "WHERE category IS NOT NULL GROUP BY category ORDER BY category"
    ).fetchall()


def update_product(product_id: int, changes: Mapping[str, Any]) -> None:
    """Set the columns in ``changes`` (of :data:`UPDATABLE_COLUMNS`; None stores NULL).

    A new ``stock`` is checked against what orders hold of the product, under the
    product's row lock (which every reservation and release takes too): stock plus
    held never passes :data:`MAX_STOCK`, so a release can always add its quantity back.

    :raise StockOverLimit: the new stock plus the held quantity would pass :data:`MAX_STOCK`.
    """
    with transaction() as cursor:
        if "stock" in changes:
            cursor.execute("SELECT id FROM products WHERE id = %s FOR UPDATE", (product_id,))
            held = _held_quantity(cursor, product_id) if cursor.fetchone() else 0
            if changes["stock"] + held > MAX_STOCK:
                raise StockOverLimit(held)
        update_columns("products", product_id, changes, UPDATABLE_COLUMNS)


def _held_quantity(cursor: DictCursor, product_id: int) -> int:
    """How many of the product reservations hold (orders not cancelled): read after the row lock."""
    cursor.execute(
        "SELECT COALESCE(SUM(l.quantity), 0) AS held FROM stock_reservation_lines l "
        "JOIN stock_reservations r ON r.reference = l.reference WHERE l.product_id = %s AND r.status = 'held'",
        (product_id,),
    )
    return int(cursor.fetchone()["held"])


def delete_product(product_id: int) -> bool:
    return execute("DELETE FROM products WHERE id = %s", (product_id,)).rowcount == 1


# ------------------------------------------------------------ stock reservations


class ProductMissing(Exception):
    def __init__(self, product_id: int) -> None:
        super().__init__(product_id)
        self.product_id = product_id


class NotEnoughStock(Exception):
    def __init__(self, product_id: int, name: str, available: int, requested: int) -> None:
        super().__init__(product_id)
        self.product_id, self.name, self.available, self.requested = product_id, name, available, requested


class ReservationReleased(Exception):
    pass


class StockOverLimit(Exception):
    def __init__(self, held: int) -> None:
        super().__init__(held)
        self.held = held


def reserve_stock(reference: str, lines: Mapping[int, int]) -> tuple[Sequence[Row], bool]:
    """Hold ``lines`` ({product id: quantity}) under ``reference``: all or nothing.

    Stock is taken by conditional UPDATEs (``stock >= quantity``), never a read then
    a write. A reference already held returns its lines again without touching stock.

    :return: (lines held with name and price snapshots, by product id; whether this was a replay)
    :raise ProductMissing, NotEnoughStock: nothing is held.
    :raise ReservationReleased: the reference was released (or given up) before.
    """
    try:
        return _reserve(reference, lines, _take_all_stock)
    except _LineNotHeld:
        # All rolled back; line by line names the first line that cannot be held
        # (or holds them all, if stock came back meanwhile).
        return _reserve(reference, lines, _take_stock_line_by_line)


class _LineNotHeld(Exception):
    pass


def _reserve(
    reference: str, lines: Mapping[int, int], take_stock: Callable[[DictCursor, Mapping[int, int]], None]
) -> tuple[Sequence[Row], bool]:
    with transaction() as cursor:
        cursor.execute("INSERT IGNORE INTO stock_reservations (reference, status) VALUES (%s, 'held')", (reference,))
        if cursor.rowcount == 0:
            cursor.execute("SELECT status FROM stock_reservations WHERE reference = %s", (reference,))
            if cursor.fetchone()["status"] == "released":
                raise ReservationReleased(reference)
            return _reservation_lines(cursor, reference), True
        take_stock(cursor, lines)
        return _record_lines(cursor, reference, lines), False


def _take_all_stock(cursor: DictCursor, lines: Mapping[int, int]) -> None:
    """One conditional UPDATE for every line; it locks the rows in id order, as the line-by-line pass does.

    :raise _LineNotHeld: fewer rows changed than there are lines (a product is missing or short).
    """
    product_ids = sorted(lines)
    quantity = "CASE id " + " ".join(["WHEN %s THEN %s"] * len(lines)) + " END"
    quantities = tuple(value for product_id in product_ids for value in (product_id, lines[product_id]))
    placeholders = ", ".join(["%s"] * len(lines))
    cursor.execute(
        f"UPDATE products SET stock = stock - {quantity} WHERE id IN ({placeholders}) AND stock >= {quantity}",
        (*quantities, *product_ids, *quantities),
    )
    if cursor.rowcount != len(lines):
        raise _LineNotHeld


def _take_stock_line_by_line(cursor: DictCursor, lines: Mapping[int, int]) -> None:
    """One conditional UPDATE per line, in product-id order so concurrent reservations cannot deadlock.

    :raise ProductMissing, NotEnoughStock: at the first line that cannot be held.
    """
    for product_id in sorted(lines):
        quantity = lines[product_id]
        cursor.execute(
            "UPDATE products SET stock = stock - %s WHERE id = %s AND stock >= %s",
            (quantity, product_id, quantity),
        )
        if cursor.rowcount != 1:
            cursor.execute("SELECT name, stock FROM products WHERE id = %s", (product_id,))
            product = cursor.fetchone()
            if product is None:
                raise ProductMissing(product_id)
            raise NotEnoughStock(product_id, product["name"], product["stock"], quantity)


def _record_lines(cursor: DictCursor, reference: str, lines: Mapping[int, int]) -> list[Row]:
    """Record the reservation's lines, with the name and price each product has now; return them by product id.

    One statement: the lines are copied from the product rows this transaction has locked, and
    MariaDB's ``RETURNING`` answers what was written (a SELECT then an INSERT took two round trips).
    """
    product_ids = sorted(lines)
    quantity = "CASE id " + " ".join(["WHEN %s THEN %s"] * len(lines)) + " END"
    placeholders = ", ".join(["%s"] * len(lines))
    cursor.execute(
        "INSERT INTO stock_reservation_lines (reference, product_id, quantity, product_name, unit_price) "
        f"SELECT %s, id, {quantity}, name, price FROM products WHERE id IN ({placeholders}) ORDER BY id "
        "RETURNING product_id, product_name, quantity, unit_price",
        (reference, *(value for product_id in product_ids for value in (product_id, lines[product_id])), *product_ids),
    )
    return sorted(cursor.fetchall(), key=lambda line: line["product_id"])


def _reservation_lines(cursor: DictCursor, reference: str) -> Sequence[Row]:
    cursor.execute(
        "SELECT product_id, product_name, quantity, unit_price FROM stock_reservation_lines "
        "WHERE reference = %s ORDER BY product_id",
        (reference,),
    )
    return cursor.fetchall()


def release_stock(reference: str) -> bool:
    """Give back what ``reference`` holds, once; True when this call gave stock back.

    An unknown reference is recorded as released (a tombstone), so a reservation
    arriving after its order was given up is refused.
    """
    with transaction() as cursor:
        cursor.execute("SELECT status FROM stock_reservations WHERE reference = %s FOR UPDATE", (reference,))
        reservation = cursor.fetchone()
        if reservation is None:
            cursor.execute(
                "INSERT IGNORE INTO stock_reservations (reference, status) VALUES (%s, 'released')", (reference,)
            )
            if cursor.rowcount == 1:
                return False
            cursor.execute("SELECT status FROM stock_reservations WHERE reference = %s FOR UPDATE", (reference,))
            reservation = cursor.fetchone()
        if reservation["status"] == "released":
            return False
        cursor.execute(
            "SELECT product_id, quantity FROM stock_reservation_lines WHERE reference = %s ORDER BY product_id",
            (reference,),
        )
        cursor.executemany(
            "UPDATE products SET stock = stock + %s WHERE id = %s",
            [(line["quantity"], line["product_id"]) for line in cursor.fetchall()],
        )
        cursor.execute("UPDATE stock_reservations SET status = 'released' WHERE reference = %s", (reference,))
        return True
