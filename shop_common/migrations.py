"""Schema migrations: each service's database brought to its latest schema (yoyo-migrations).

A service that owns a database keeps its schema changes in ``<package>/migrations/``, plain SQL
files named ``NNNN_<what>.sql`` and applied in name order. Each database keeps its own history
in yoyo's tables (``_yoyo_migration``, ``_yoyo_log``, ``_yoyo_version``, ``yoyo_lock``), so
applying them again changes nothing, and two runs at once take turns on the lock.
``0001_baseline`` is the first release's schema (``IF NOT EXISTS``, so a database made by any
earlier ``db_init.sql`` is taken as it is); ``db_init.sql`` stays the schema a new database
starts from, tested to equal all migrations applied (``make schema-check``).
"""

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pymysql
from yoyo import read_migrations
from yoyo.backends.core.mysql import MySQLBackend
from yoyo.connections import DatabaseURI
from yoyo.migrations import default_migration_table

from .db import connect_arguments
from .schema import check_database_name
from .settings import PROJECT_ROOT, SERVICES

MIGRATIONS_FOLDER = "migrations"
# yoyo's own tables in each database: not part of the service's schema.
HISTORY_TABLES = ("_yoyo_log", "_yoyo_migration", "_yoyo_version", "yoyo_lock")
# How long a run waits for another's lock (yoyo's LockTimeout after): a long ALTER may hold it.
LOCK_TIMEOUT_SECONDS = 120


def migration_folders(services: Iterable[str] = tuple(SERVICES)) -> dict[str, Path]:
    """``{service: folder}`` of the ``services`` that own a database and keep migrations."""
    folders = {}
    for service in services:
        package, _, database = SERVICES[service]
        folder = PROJECT_ROOT / package / MIGRATIONS_FOLDER
        if database and folder.is_dir():
            folders[service] = folder
    return folders


def upgrade(config: Mapping[str, Any], folder: Path) -> list[str]:
    """Create ``config``'s ``DB_NAME`` if missing and apply ``folder``'s migrations it lacks.

    ``config`` holds the DB_* settings, typed (:func:`shop_common.settings.flask_config`).
    Returns the ids of the migrations applied now (none when it was up to date).
    """
    create_database(config)
    backend = MySQLBackend(_database_uri(config), default_migration_table)
    try:
        backend.init_database()
        with backend.lock(LOCK_TIMEOUT_SECONDS):
            pending = backend.to_apply(read_migrations(str(folder)))
            backend.apply_migrations(pending)
    finally:
        backend.connection.close()
    return [migration.id for migration in pending]


def create_database(config: Mapping[str, Any]) -> None:
    """``CREATE DATABASE IF NOT EXISTS``, in the character set every table of the shop uses."""
    name = check_database_name(config["DB_NAME"])
    with pymysql.connect(**connect_arguments(config, database=False)) as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")


def _database_uri(config: Mapping[str, Any]) -> DatabaseURI:
    """yoyo's connection: the services' own arguments (UTC, TLS as DB_SSL_CA says), tuple rows, transactions."""
    arguments = connect_arguments(config, database=False)
    del arguments["cursorclass"], arguments["autocommit"]
    return DatabaseURI("mysql", None, None, None, None, config["DB_NAME"], arguments)
