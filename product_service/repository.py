"""Every SQL statement of the product service: the catalog, and the stock reservations of the order saga."""
from shop_common.db import get_db, transaction

# A product as the API shows it: each field and the SQL that gives it. Price and time leave
# the database already as the API writes them ("19.99", ISO 8601 in UTC, the session's
# zone): pymysql's Decimal and datetime parsing and their JSON conversion were ~40 % of the
# service's time for a catalog page in a profile. (%% is pymysql's escape for %: every
# statement using these has parameters.)
_PRODUCT_FIELDS = {
    "id": "id", "name": "name", "description": "description", "price": "CAST(price AS CHAR)",
    "stock": "stock", "image_url": "image_url",
    "created_at": "DATE_FORMAT(created_at, '%%Y-%%m-%%dT%%H:%%i:%%sZ')",
}
PRODUCT_COLUMNS = ", ".join(f"{sql} AS {field}" for field, sql in _PRODUCT_FIELDS.items())
# The same, as the text of a JSON object written by the database: a catalog page goes out
# as the database wrote it instead of 7 columns per row decoded by pymysql and encoded
# again, which halves the service's CPU per page of 100 (README, Performance).
PRODUCT_JSON = "JSON_OBJECT(" + ", ".join(f"'{field}', {sql}" for field, sql in _PRODUCT_FIELDS.items()) + ")"
# The largest value of the stock column's INT: for a product's stock and what orders hold of it together.
MAX_STOCK = 2_147_483_647
# Column names are written into the UPDATE statement, so only these are accepted.
UPDATABLE_COLUMNS = frozenset({"name", "description", "price", "stock", "image_url"})


def _execute(sql, params=()):
    with get_db().cursor() as cursor:
        cursor.execute(sql, params)
        return cursor


def _name_filter(name_query):
    """A WHERE clause keeping names that contain ``name_query`` literally, and its parameters.

    ``%``, ``_`` and ``\\`` are LIKE's wildcards and escape character, so they
    are escaped: a search for ``50%`` finds "50% off", not "500 mugs".
    """
    if not name_query:
        return "", ()
    escaped = name_query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return " WHERE name LIKE %s", (f"%{escaped}%",)


def insert_product(name, description, price, stock, image_url):
    return _execute(
        "INSERT INTO products (name, description, price, stock, image_url) VALUES (%s, %s, %s, %s, %s)",
        (name, description, price, stock, image_url),
    ).lastrowid


def find_product(product_id):
    return _execute(f"SELECT {PRODUCT_COLUMNS} FROM products WHERE id = %s", (product_id,)).fetchone()


def list_products(limit, offset, name_query=""):
    """A page of the catalog, newest first, as the text of a JSON array."""
    where, params = _name_filter(name_query)
    rows = _execute(
        f"SELECT {PRODUCT_JSON} AS product FROM products{where} ORDER BY id DESC LIMIT %s OFFSET %s",
        (*params, limit, offset),
    ).fetchall()
    return "[" + ",".join(row["product"] for row in rows) + "]"


def count_products(name_query=""):
    where, params = _name_filter(name_query)
    return _execute(f"SELECT COUNT(*) AS total FROM products{where}", params).fetchone()["total"]


def update_product(product_id, changes):
    """Set the columns in ``changes`` ({column: value}; None stores NULL) of one product.

    A new ``stock`` is checked against what orders hold of the product, under the
    product's row lock (which every reservation and release takes too): stock plus
    held never passes :data:`MAX_STOCK`, so a release can always add its quantity back.

    :raise ValueError: ``changes`` is empty or names a column outside :data:`UPDATABLE_COLUMNS`.
    :raise StockOverLimit: the new stock plus the held quantity would pass :data:`MAX_STOCK`.
    """
    if not changes or not UPDATABLE_COLUMNS.issuperset(changes):
        raise ValueError(f"cannot update products with {sorted(changes)}")
    assignments = ", ".join(f"{column} = %s" for column in changes)
    with transaction() as cursor:
        if "stock" in changes:
            cursor.execute("SELECT id FROM products WHERE id = %s FOR UPDATE", (product_id,))
            held = _held_quantity(cursor, product_id) if cursor.fetchone() else 0
            if changes["stock"] + held > MAX_STOCK:
                raise StockOverLimit(held)
        cursor.execute(f"UPDATE products SET {assignments} WHERE id = %s", (*changes.values(), product_id))


def _held_quantity(cursor, product_id):
    """How many of the product reservations hold (orders not cancelled): read after the row lock."""
    cursor.execute(
        "SELECT COALESCE(SUM(l.quantity), 0) AS held FROM stock_reservation_lines l "
        "JOIN stock_reservations r ON r.reference = l.reference WHERE l.product_id = %s AND r.status = 'held'",
        (product_id,),
    )
    return int(cursor.fetchone()["held"])


def delete_product(product_id):
    return _execute("DELETE FROM products WHERE id = %s", (product_id,)).rowcount == 1


# ------------------------------------------------------------ stock reservations

class ProductMissing(Exception):
    def __init__(self, product_id):
        super().__init__(product_id)
        self.product_id = product_id


class NotEnoughStock(Exception):
    def __init__(self, product_id, name, available, requested):
        super().__init__(product_id)
        self.product_id, self.name, self.available, self.requested = product_id, name, available, requested


class ReservationReleased(Exception):
    pass


class StockOverLimit(Exception):
    def __init__(self, held):
        super().__init__(held)
        self.held = held


def reserve_stock(reference, lines):
    """Hold ``lines`` ({product id: quantity}) under ``reference``: all or nothing.

    Each line is one conditional UPDATE (``stock >= quantity``), never a read then
    a write, taken in product-id order so concurrent reservations cannot deadlock.
    A reference already held answers its lines again without touching stock.

    :return: (lines held with name and price snapshots, whether this was a replay)
    :raise ProductMissing, NotEnoughStock: nothing is held.
    :raise ReservationReleased: the reference was released (or given up) before.
    """
    with transaction() as cursor:
        cursor.execute(
            "INSERT IGNORE INTO stock_reservations (reference, status) VALUES (%s, 'held')", (reference,)
        )
        if cursor.rowcount == 0:
            cursor.execute("SELECT status FROM stock_reservations WHERE reference = %s", (reference,))
            if cursor.fetchone()["status"] == "released":
                raise ReservationReleased(reference)
            return _reservation_lines(cursor, reference), True
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
        placeholders = ", ".join(["%s"] * len(lines))
        cursor.execute(f"SELECT id, name, price FROM products WHERE id IN ({placeholders})", tuple(lines))
        cursor.executemany(
            "INSERT INTO stock_reservation_lines (reference, product_id, quantity, product_name, unit_price) "
            "VALUES (%s, %s, %s, %s, %s)",
            [(reference, product["id"], lines[product["id"]], product["name"], product["price"])
             for product in cursor.fetchall()],
        )
        return _reservation_lines(cursor, reference), False


def _reservation_lines(cursor, reference):
    cursor.execute(
        "SELECT product_id, product_name, quantity, unit_price FROM stock_reservation_lines "
        "WHERE reference = %s ORDER BY product_id",
        (reference,),
    )
    return cursor.fetchall()


def release_stock(reference):
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
