"""Databases as earlier releases made them, with rows in them, for the upgrade tests.

Each release's ``db_init.sql`` is read from the git history (``git show <commit>:db_init.sql``):
the first release (c6aef08, the last commit of 2026-11-24) and the last one before migrations
(5f71446). CI runs in a full clone; in a shallow one the tests fail and say to fetch the history.
:data:`OLD_ROWS` is what those releases wrote, including a product over the stock limit (its
stock plus what orders hold passes the INT).
"""

import os
import subprocess

import bcrypt
import pytest

from shop_common.schema import apply_schema, drop_databases, server_connection
from shop_common.settings import PROJECT_ROOT, SERVICES
from tests.support import DB_SERVER

COMMITS = {
    "c6aef08": "c6aef084be20a9cf90089056e42c388cfc271589",
    "5f71446": "5f714465cf6a53c4a2fb484c5bd4b38c4d61e70c",
}
RELEASES = tuple(COMMITS)
MAX_STOCK = 2_147_483_647
OLD_PASSWORD = "old-release-password"
REFERENCE_HELD = "11111111-1111-4111-8111-111111111111"
REFERENCE_RELEASED = "22222222-2222-4222-8222-222222222222"
# Product 2 breaks the stock limit: 10 held, so its stock is lowered to MAX_STOCK - 10 by 0002.
OVER_LIMIT_PRODUCT, OVER_LIMIT_HELD = 2, 10

OLD_ROWS = {
    "user_db": {
        "users": [
            (1, "old_admin", "admin"),
            (2, "old_customer", "customer"),
        ],
        "refresh_tokens": [("a" * 64, "f" * 32, 2, "2030-01-01 00:00:00")],
        "profile_erasures": [(99, 1)],
    },
    "customer_db": {
        "customers": [(1, 2, "Old Customer", "old@example.com", "+44 20 0000 0000", "1 Old Street")],
    },
    "product_db": {
        "products": [
            (1, "Tea mug", "A mug", "9.50", 18),
            (OVER_LIMIT_PRODUCT, "Grain of sand", None, "0.01", MAX_STOCK - 3),
            (3, "Kettle", "Released, not held", "30.00", MAX_STOCK),
        ],
        "stock_reservations": [(REFERENCE_HELD, "held"), (REFERENCE_RELEASED, "released")],
        "stock_reservation_lines": [
            (REFERENCE_HELD, 1, 2, "Tea mug", "9.50"),
            (REFERENCE_HELD, OVER_LIMIT_PRODUCT, OVER_LIMIT_HELD, "Grain of sand", "0.01"),
            (REFERENCE_RELEASED, 3, 5, "Kettle", "30.00"),
        ],
    },
    "transaction_db": {
        "transactions": [
            (1, REFERENCE_HELD, 1, 2, "19.10", "pending", "held"),
            (2, REFERENCE_RELEASED, 1, 2, "150.00", "cancelled", "released"),
        ],
        "transaction_items": [
            (1, 1, 1, "Tea mug", 2, "9.50"),
            (2, 1, OVER_LIMIT_PRODUCT, "Grain of sand", OVER_LIMIT_HELD, "0.01"),
            (3, 2, 3, "Kettle", 5, "30.00"),
        ],
        "idempotency_keys": [("user:2", "order-1", "b" * 64, "done", 1, 201, '{"transactionId": 1}')],
        "deleted_customers": [(7,)],
    },
}
_COLUMNS = {
    "users": "id, username, role, password_hash",
    "refresh_tokens": "token_hash, family, user_id, expires_at",
    "profile_erasures": "user_id, attempts",
    "customers": "id, user_id, name, email, phone, address",
    "products": "id, name, description, price, stock",
    "stock_reservations": "reference, status",
    "stock_reservation_lines": "reference, product_id, quantity, product_name, unit_price",
    "transactions": "id, reference, customer_id, user_id, total_amount, status, stock_state",
    "transaction_items": "id, transaction_id, product_id, product_name, quantity, price_per_item",
    "idempotency_keys": "caller, idempotency_key, request_hash, state, transaction_id, response_status, response_body",
    "deleted_customers": "customer_id",
}


def create_old_databases(release, tag):
    """The four databases as ``release``'s db_init.sql makes them, filled with :data:`OLD_ROWS`
    (the tables that release has); ``{default name: test name}``."""
    names = {database: f"shoptest_{os.getpid()}_{tag}_{database}" for _, _, database in SERVICES.values() if database}
    with server_connection(**DB_SERVER) as connection:
        drop_databases(connection, names.values())
        apply_schema(connection, names, release_schema(release))
        with connection.cursor() as cursor:
            for database, tables in OLD_ROWS.items():
                cursor.execute(f"USE `{names[database]}`")
                _insert_rows(cursor, tables)
    return names


def release_schema(release):
    """``release``'s db_init.sql, from the git history; the test fails when the history is not there."""
    shown = subprocess.run(
        ["git", "show", f"{COMMITS[release]}:db_init.sql"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    if shown.returncode != 0:
        pytest.fail(
            f"the upgrade tests read release {release}'s db_init.sql from the git history, which is not here "
            f"({shown.stderr.strip()}): fetch it (`git fetch --unshallow`, or a full `git clone`)",
            pytrace=False,
        )
    return shown.stdout


def _insert_rows(cursor, tables):
    """The rows of ``tables`` ({table: rows}) whose table this database has; users get OLD_PASSWORD."""
    cursor.execute("SHOW TABLES")
    present = {table for (table,) in cursor.fetchall()}
    password_hash = bcrypt.hashpw(OLD_PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    for table in [table for table in tables if table in present]:
        for row in tables[table]:
            values = (*row, password_hash) if table == "users" else row
            placeholders = ", ".join(["%s"] * len(values))
            cursor.execute(f"INSERT INTO {table} ({_COLUMNS[table]}) VALUES ({placeholders})", values)


def snapshot(names):
    """``{(database, table): rows}`` of every table :data:`OLD_ROWS` fills that exists, in the columns
    the old releases wrote (so a migration that adds a column leaves the comparison alone)."""
    rows = {}
    with server_connection(**DB_SERVER) as connection, connection.cursor() as cursor:
        for database, tables in OLD_ROWS.items():
            cursor.execute(f"USE `{names[database]}`")
            cursor.execute("SHOW TABLES")
            present = {table for (table,) in cursor.fetchall()}
            for table in present & tables.keys():
                cursor.execute(f"SELECT {_COLUMNS[table]} FROM {table}")
                rows[database, table] = sorted(cursor.fetchall(), key=repr)
    return rows


def drop_old_databases(names):
    with server_connection(**DB_SERVER) as connection:
        drop_databases(connection, names.values())
