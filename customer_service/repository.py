"""Every SQL statement of the customer service."""
import pymysql

from shop_common.db import get_db

DUPLICATE_KEY = 1062
CUSTOMER_COLUMNS = "id, user_id, name, email, phone, address, created_at"
UPDATABLE_COLUMNS = ("name", "email", "phone", "address")


class ProfileExists(Exception):
    """The user already has a profile."""


class EmailTaken(Exception):
    """Another profile has this email."""


def _execute(sql, params=()):
    with get_db().cursor() as cursor:
        cursor.execute(sql, params)
        return cursor


def _duplicate(error):
    """The domain error behind a duplicate-key error, named by the unique key it hit."""
    if "uq_customers_user_id" in error.args[1]:
        return ProfileExists()
    return EmailTaken()


def insert_customer(user_id, name, email, phone, address):
    """:raise ProfileExists, EmailTaken: a unique key refused the row."""
    try:
        return _execute(
            "INSERT INTO customers (user_id, name, email, phone, address) VALUES (%s, %s, %s, %s, %s)",
            (user_id, name, email, phone, address),
        ).lastrowid
    except pymysql.err.IntegrityError as error:
        if error.args[0] == DUPLICATE_KEY:
            raise _duplicate(error) from error
        raise


def find_customer(customer_id):
    return _execute(f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = %s", (customer_id,)).fetchone()


def find_customer_by_user_id(user_id):
    return _execute(f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE user_id = %s", (user_id,)).fetchone()


def list_customers(limit, offset):
    return _execute(
        f"SELECT {CUSTOMER_COLUMNS} FROM customers ORDER BY id DESC LIMIT %s OFFSET %s", (limit, offset)
    ).fetchall()


def count_customers():
    return _execute("SELECT COUNT(*) AS total FROM customers").fetchone()["total"]


def update_customer(customer_id, changes):
    """Set the columns in ``changes`` (a subset of UPDATABLE_COLUMNS).

    :raise EmailTaken: the new email belongs to another profile.
    """
    columns = [column for column in UPDATABLE_COLUMNS if column in changes]
    assignments = ", ".join(f"{column} = %s" for column in columns)
    try:
        _execute(f"UPDATE customers SET {assignments} WHERE id = %s",
                 (*(changes[column] for column in columns), customer_id))
    except pymysql.err.IntegrityError as error:
        if error.args[0] == DUPLICATE_KEY:
            raise _duplicate(error) from error
        raise


def delete_customer(customer_id):
    return _execute("DELETE FROM customers WHERE id = %s", (customer_id,)).rowcount == 1


def delete_customer_by_user_id(user_id):
    return _execute("DELETE FROM customers WHERE user_id = %s", (user_id,)).rowcount == 1
