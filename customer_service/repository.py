"""Every SQL statement of the customer service."""

from collections.abc import Mapping, Sequence
from typing import Any

from shop_common.db import Row, execute, update_columns

CUSTOMER_COLUMNS = "id, user_id, name, email, phone, address, created_at"
UPDATABLE_COLUMNS = ("name", "email", "phone", "address")
# The unique keys a new or changed profile can hit.
USER_ID_KEY = "uq_customers_user_id"
EMAIL_KEY = "uq_customers_email"


def insert_customer(user_id: int, name: str, email: str, phone: str | None, address: str | None) -> int:
    """:raise DuplicateKey: the user has a profile, or the email is taken."""
    return execute(
        "INSERT INTO customers (user_id, name, email, phone, address) VALUES (%s, %s, %s, %s, %s)",
        (user_id, name, email, phone, address),
    ).lastrowid


def find_customer(customer_id: int) -> Row | None:
    return _customer_where("id", customer_id)


def find_customer_by_user_id(user_id: int) -> Row | None:
    return _customer_where("user_id", user_id)


def _customer_where(key: str, value: int) -> Row | None:
    """The customer whose ``key`` (``id`` or ``user_id``, both unique) is ``value``."""
    return execute(f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE {key} = %s", (value,)).fetchone()


def list_customers(limit: int, offset: int) -> Sequence[Row]:
    return execute(
        f"SELECT {CUSTOMER_COLUMNS} FROM customers ORDER BY id DESC LIMIT %s OFFSET %s", (limit, offset)
    ).fetchall()


def count_customers() -> int:
    return execute("SELECT COUNT(*) AS total FROM customers").fetchone()["total"]


def update_customer(customer_id: int, changes: Mapping[str, Any]) -> None:
    """Set the columns in ``changes`` (of :data:`UPDATABLE_COLUMNS`; None stores NULL).

    :raise DuplicateKey: the new email belongs to another profile.
    """
    update_columns("customers", customer_id, changes, UPDATABLE_COLUMNS)


def delete_customer(customer_id: int) -> bool:
    return execute("DELETE FROM customers WHERE id = %s", (customer_id,)).rowcount == 1
