"""Migrations: an earlier release's databases upgrade with every row kept, the new rules in force,
the schema a new database gets; a second upgrade changes nothing; db_init.sql equals the migrations."""

from concurrent.futures import ThreadPoolExecutor

import pymysql
import pytest

from product_service import create_app as create_product_app
from product_service import repository as products
from shop_common.migrations import migration_folders, upgrade
from shop_common.schema import SCHEMA_FILE
from shop_common.settings import SERVICES, flask_config
from tests.old_releases import (
    MAX_STOCK,
    OVER_LIMIT_HELD,
    OVER_LIMIT_PRODUCT,
    RELEASES,
    create_old_databases,
    drop_old_databases,
    snapshot,
)
from tests.support import DB_SERVER, app_test_config
from tools.schema_check import compare, describe, differences
from tools.schema_dump import generate

EXPECTED_STOCK = {OVER_LIMIT_PRODUCT: MAX_STOCK - OVER_LIMIT_HELD}  # what 0002 lowers; every other row is kept


def upgrade_all(names):
    """Every service's migrations on its database in ``names``; ``{service: migrations applied}``."""
    return {
        service: upgrade(dict(flask_config(service), DB_NAME=names[SERVICES[service][2]], **_server()), folder)
        for service, folder in migration_folders().items()
    }


def _server():
    return {
        "DB_HOST": DB_SERVER["host"],
        "DB_PORT": DB_SERVER["port"],
        "DB_USER": DB_SERVER["user"],
        "DB_PASSWORD": DB_SERVER["password"],
    }


def connection():
    return pymysql.connect(**DB_SERVER, autocommit=True)


@pytest.fixture(params=RELEASES)
def old_databases(request):
    names = create_old_databases(request.param, f"up{request.param}")
    yield names
    drop_old_databases(names)


def test_an_old_release_upgrades_with_every_row_kept(old_databases):
    before = snapshot(old_databases)
    applied = upgrade_all(old_databases)
    assert all(applied.values()), applied  # a database with no history gets them all, baseline first
    assert all(ids[0].startswith("0001_") and ids == sorted(ids) for ids in applied.values()), applied
    after = snapshot(old_databases)
    expected = dict(before)
    expected["product_db", "products"] = sorted(
        ((*row[:4], EXPECTED_STOCK.get(row[0], row[4])) for row in before["product_db", "products"]),
        key=repr,
    )
    assert {key: after[key] for key in before} == expected


def test_an_upgraded_database_has_the_schema_of_a_new_one(old_databases, unit_databases):
    upgrade_all(old_databases)
    with connection() as server:
        for database, fresh in unit_databases.items():
            assert differences(describe(server, fresh), describe(server, old_databases[database])) == [], database


def test_the_second_upgrade_changes_nothing(old_databases):
    upgrade_all(old_databases)
    rows = snapshot(old_databases)
    with connection() as server:
        schemas = {name: describe(server, name) for name in old_databases.values()}
    assert upgrade_all(old_databases) == {service: [] for service in migration_folders()}
    assert snapshot(old_databases) == rows
    with connection() as server:
        assert {name: describe(server, name) for name in old_databases.values()} == schemas


def test_the_new_rules_hold_after_the_upgrade(old_databases):
    upgrade_all(old_databases)
    with connection() as server, server.cursor() as cursor:
        cursor.execute(f"USE `{old_databases['product_db']}`")
        cursor.execute(
            "SELECT p.id, p.stock + COALESCE(SUM(CASE WHEN r.status = 'held' THEN l.quantity END), 0) "
            "FROM products p LEFT JOIN stock_reservation_lines l ON l.product_id = p.id "
            "LEFT JOIN stock_reservations r ON r.reference = l.reference GROUP BY p.id"
        )
        assert all(total <= MAX_STOCK for _, total in cursor.fetchall())
        cursor.execute("SHOW INDEX FROM stock_reservation_lines WHERE Key_name = 'ix_lines_product'")
        assert [row[4] for row in cursor.fetchall()] == ["product_id"]
        with pytest.raises(pymysql.err.OperationalError) as refused:
            cursor.execute("UPDATE products SET stock = -1 WHERE id = 1")
        assert refused.value.args[0] == 4025  # CHECK constraint violated
    app = create_product_app(app_test_config(old_databases["product_db"]))
    with app.app_context(), pytest.raises(products.StockOverLimit):
        products.update_product(OVER_LIMIT_PRODUCT, {"stock": MAX_STOCK - OVER_LIMIT_HELD + 1})


def test_the_new_tables_take_rows_that_refer_to_old_ones(old_databases):
    upgrade_all(old_databases)
    with connection() as server, server.cursor() as cursor:
        cursor.execute(f"USE `{old_databases['user_db']}`")
        cursor.execute(
            "INSERT INTO refresh_tokens (token_hash, family, user_id, expires_at) "
            "VALUES (%s, %s, 1, '2030-01-01 00:00:00')",
            ("c" * 64, "e" * 32),
        )
        cursor.execute("DELETE FROM users WHERE id = 1")
        cursor.execute("SELECT COUNT(*) FROM refresh_tokens WHERE user_id = 1")
        assert cursor.fetchone() == (0,)  # gone with their user
        cursor.execute(f"USE `{old_databases['transaction_db']}`")
        cursor.execute("INSERT INTO deleted_customers (customer_id) VALUES (1)")


def test_db_init_sql_is_what_the_migrations_generate():
    assert SCHEMA_FILE.read_text() == generate(tag="gen"), "db_init.sql is stale: run `make schema`"


def test_all_migrations_on_empty_databases_build_db_init_sql_schema():
    assert compare(tag="mig") == {service: [] for service in migration_folders()}


def test_the_comparison_sees_a_missing_index(unit_databases):
    with connection() as server:
        fresh = describe(server, unit_databases["product_db"])
        without = {view: {row for row in rows if "ix_lines_product" not in row} for view, rows in fresh.items()}
        assert differences(fresh, without) == [
            f"- STATISTICS {row}" for row in fresh["STATISTICS"] - without["STATISTICS"]
        ]
        assert differences(fresh, without)


def test_two_upgrades_at_once_take_turns(old_databases):
    """Two migrate steps started together (two replicas' jobs): one applies, the other finds nothing to do."""
    folder = migration_folders()["product"]
    config = dict(flask_config("product"), DB_NAME=old_databases["product_db"], **_server())
    with ThreadPoolExecutor(max_workers=2) as pool:
        applied = sorted(pool.map(lambda _: upgrade(config, folder), range(2)))
    migrations = sorted(migration.stem for migration in folder.glob("*.sql"))
    assert applied == [[], migrations]
    with connection() as server, server.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM `{old_databases['product_db']}`._yoyo_migration")
        assert cursor.fetchone() == (len(migrations),)
