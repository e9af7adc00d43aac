"""Check that ``db_init.sql`` is what the migrations generate (``make schema-check``).

    python -m tools.schema_check

First the text: ``db_init.sql`` must be exactly what ``make schema`` (tools/schema_dump.py) writes
now. Then the schema it builds: for each service with migrations, two throw-away databases on
the configured server, one made by ``db_init.sql``, one by applying every migration to an empty
database. Their tables, columns (position, type, default, character set, extra), indexes,
constraints, checks and foreign keys are read from information_schema and compared; yoyo's own
tables are left out. Any difference is printed and the exit status is 1.
"""

import os
import sys
from collections.abc import Iterable

from shop_common.migrations import HISTORY_TABLES, migration_folders, upgrade
from shop_common.schema import SCHEMA_FILE, apply_schema, drop_databases, server_connection
from shop_common.settings import SERVICES, flask_config
from tools.schema_dump import generate

# What makes a schema, per information_schema view: the columns compared (TABLE_SCHEMA excluded).
_DESCRIBED = {
    "TABLES": ("TABLE_NAME", "TABLE_TYPE", "ENGINE", "TABLE_COLLATION", "CREATE_OPTIONS"),
    "COLUMNS": (
        "TABLE_NAME",
        "COLUMN_NAME",
        "ORDINAL_POSITION",
        "COLUMN_DEFAULT",
        "IS_NULLABLE",
        "COLUMN_TYPE",
        "CHARACTER_SET_NAME",
        "COLLATION_NAME",
        "EXTRA",
        "GENERATION_EXPRESSION",
    ),
    "STATISTICS": ("TABLE_NAME", "INDEX_NAME", "NON_UNIQUE", "SEQ_IN_INDEX", "COLUMN_NAME", "SUB_PART", "INDEX_TYPE"),
    "TABLE_CONSTRAINTS": ("TABLE_NAME", "CONSTRAINT_NAME", "CONSTRAINT_TYPE"),
    "CHECK_CONSTRAINTS": ("TABLE_NAME", "CONSTRAINT_NAME", "LEVEL", "CHECK_CLAUSE"),
    "REFERENTIAL_CONSTRAINTS": (
        "TABLE_NAME",
        "CONSTRAINT_NAME",
        "REFERENCED_TABLE_NAME",
        "UNIQUE_CONSTRAINT_NAME",
        "UPDATE_RULE",
        "DELETE_RULE",
    ),
    "KEY_COLUMN_USAGE": (
        "TABLE_NAME",
        "CONSTRAINT_NAME",
        "COLUMN_NAME",
        "ORDINAL_POSITION",
        "REFERENCED_TABLE_NAME",
        "REFERENCED_COLUMN_NAME",
    ),
}
_SCHEMA_COLUMN = {"REFERENTIAL_CONSTRAINTS": "CONSTRAINT_SCHEMA", "CHECK_CONSTRAINTS": "CONSTRAINT_SCHEMA"}


def describe(connection, database: str) -> dict[str, set[tuple]]:
    """``{view: rows}``: the schema of ``database`` as information_schema shows it, yoyo's tables left out."""
    described = {}
    with connection.cursor() as cursor:
        for view, columns in _DESCRIBED.items():
            cursor.execute(
                f"SELECT {', '.join(columns)} FROM information_schema.{view} "
                f"WHERE {_SCHEMA_COLUMN.get(view, 'TABLE_SCHEMA')} = %s AND TABLE_NAME NOT IN %s",
                (database, HISTORY_TABLES),
            )
            described[view] = set(cursor.fetchall())
        cursor.execute(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "
            "WHERE SCHEMA_NAME = %s",
            (database,),
        )
        described["SCHEMATA"] = set(cursor.fetchall())
    return described


def differences(expected: dict[str, set[tuple]], actual: dict[str, set[tuple]]) -> list[str]:
    """One line per row in one description and not the other: ``- view row`` missing, ``+ view row`` extra."""
    lines = []
    for view in expected:
        lines += [f"- {view} {row}" for row in sorted(expected[view] - actual[view], key=repr)]
        lines += [f"+ {view} {row}" for row in sorted(actual[view] - expected[view], key=repr)]
    return lines


def compare(services: Iterable[str] = tuple(SERVICES), tag: str = "schema") -> dict[str, list[str]]:
    """``{service: differences}`` between db_init.sql's schema and the migrations', on throw-away databases."""
    folders = migration_folders(services)
    fresh = {SERVICES[service][2]: f"shoptest_{os.getpid()}_{tag}_fresh_{service}" for service in folders}
    migrated = {service: f"shoptest_{os.getpid()}_{tag}_migrated_{service}" for service in folders}
    config = flask_config("user")
    with server_connection(config["DB_HOST"], config["DB_PORT"], config["DB_USER"], config["DB_PASSWORD"]) as server:
        try:
            apply_schema(server, fresh)
            for service, folder in folders.items():
                upgrade(dict(flask_config(service), DB_NAME=migrated[service]), folder)
            return {
                service: differences(describe(server, fresh[SERVICES[service][2]]), describe(server, migrated[service]))
                for service in folders
            }
        finally:
            drop_databases(server, [*fresh.values(), *migrated.values()])


def main() -> None:
    if SCHEMA_FILE.read_text() != generate(tag="check"):
        sys.exit("db_init.sql is not what the migrations generate: run `make schema` (never edit it by hand)")
    found = compare()
    for service, lines in found.items():
        print(f"{service}: " + ("the same" if not lines else "DIFFERENT (- db_init.sql only, + migrations only)"))
        for line in lines:
            print(f"    {line}")
    if any(found.values()):
        sys.exit("db_init.sql builds another schema than the migrations: tools/schema_dump.py misses something")


if __name__ == "__main__":
    main()
