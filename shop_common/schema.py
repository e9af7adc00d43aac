"""Apply ``db_init.sql``, the schema a new database starts from, to throw-away databases.

The tests and the benchmark build theirs this way (fast); ``make db-init`` and every
deployment apply each service's migrations instead (shop_common/migrations.py), which
``make schema-check`` keeps equal to this file.

The file names the default databases (``user_db`` ...). Each ``CREATE DATABASE``
and ``USE`` is rewritten to the name given in ``database_names``, so the same
file builds a developer's databases, a second stack's, or a test run's.
"""

import re
from collections.abc import Iterable, Mapping

import pymysql

from .settings import PROJECT_ROOT

SCHEMA_FILE = PROJECT_ROOT / "db_init.sql"
_DATABASE_STATEMENT = re.compile(r"^(CREATE DATABASE IF NOT EXISTS|USE)\s+(\w+)", re.IGNORECASE)
_IDENTIFIER = re.compile(r"[A-Za-z0-9_]{1,64}")


def statements(sql: str) -> list[str]:
    """The statements of ``sql``, comments and blank lines removed (no ';' inside strings here)."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def check_database_name(name: str) -> str:
    """``name``, which is written into statements as it is.

    :raise ValueError: it is not 1-64 of ``A-Z a-z 0-9 _``.
    """
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a plain database name: {name!r}")
    return name


def apply_schema(connection: pymysql.Connection, database_names: Mapping[str, str], sql: str | None = None) -> None:
    """Run ``db_init.sql`` (or ``sql``, a schema file in its layout) for the databases in
    ``database_names`` ({default: actual}); skip the others."""
    for name in database_names.values():
        check_database_name(name)
    current = None
    with connection.cursor() as cursor:
        for statement in statements(SCHEMA_FILE.read_text() if sql is None else sql):
            match = _DATABASE_STATEMENT.match(statement)
            if match:
                current = match.group(2)
                if current not in database_names:
                    continue
                statement = statement[: match.start(2)] + f"`{database_names[current]}`" + statement[match.end(2) :]
            elif current not in database_names:
                continue
            cursor.execute(statement)


def server_connection(host: str, port: int, user: str, password: str) -> pymysql.Connection:
    """A connection to the server with no database selected."""
    return pymysql.connect(
        host=host, port=port, user=user, password=password, charset="utf8mb4", autocommit=True, connect_timeout=5
    )


def drop_databases(connection: pymysql.Connection, names: Iterable[str]) -> None:
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
