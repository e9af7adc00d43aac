"""db_init.sql can be applied again and again, and keeps its constraints."""

import pymysql
import pytest

from shop_common.schema import apply_schema, server_connection
from tests.support import DB_SERVER


def test_applying_the_schema_twice_changes_nothing(unit_databases):
    with server_connection(**DB_SERVER) as connection:
        apply_schema(connection, unit_databases)
        apply_schema(connection, unit_databases)
        with connection.cursor() as cursor:
            cursor.execute(f"SHOW TABLES FROM `{unit_databases['transaction_db']}`")
            assert {row[0] for row in cursor.fetchall()} >= {"transactions", "transaction_items"}


def test_stock_cannot_go_negative_in_the_database(unit_databases):
    with server_connection(**DB_SERVER) as connection, connection.cursor() as cursor:
        cursor.execute(f"USE `{unit_databases['product_db']}`")
        with pytest.raises(pymysql.err.OperationalError) as error:
            cursor.execute("INSERT INTO products (name, price, stock) VALUES ('x', 1, -1)")
        assert error.value.args[0] == 4025  # CHECK constraint violated


def test_database_names_must_be_plain_identifiers():
    with server_connection(**DB_SERVER) as connection, pytest.raises(ValueError):
        apply_schema(connection, {"user_db": "x`; DROP DATABASE mysql; --"})
