"""Pooled MySQL connections for a service.

DBUtils' ``PooledDB`` keeps up to ``DB_POOL_SIZE`` pymysql connections per
worker process and rolls back a transaction a request left
open when the connection goes back (``reset=False``: only one begun with
``begin()``, as :func:`transaction` does; connections are in autocommit
otherwise, so the default unconditional ROLLBACK would be a wasted round trip
per request). Each connection is checked as it is handed out, and one the server
dropped (a restart, ``wait_timeout``, ``KILL``) is replaced, not failed: by
:func:`shop_common.sockets.still_open` on its socket rather than a MySQL ping,
which would cost a round trip per request. A request borrows one connection, keeps it on
``g`` and returns it on teardown; repository functions call :func:`get_db`.

The pool is created lazily, on first use, so a gunicorn worker never shares a
socket with the master or a sibling after ``fork``. Borrowed connections and
checkouts that had to wait are counted (:data:`shop_common.metrics.pool_use`).
"""

import functools
import re
import ssl
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

import pymysql
from dbutils.pooled_db import PooledDB, PooledDedicatedDBConnection
from flask import Flask, Response, current_app, g
from pymysql.cursors import DictCursor
from werkzeug.local import LocalProxy

from .errors import ApiError, error_response
from .metrics import pool_use
from .sockets import still_open

DUPLICATE_ENTRY = 1062  # MySQL's ER_DUP_ENTRY
# "Duplicate entry 'x' for key 'uq_name'" (MySQL 8 writes 'table.uq_name').
_DUPLICATE_KEY_NAME = re.compile(r"for key '(?:[^']*\.)?([^'.]+)'")

Row = dict[str, Any]  # a row as a DictCursor returns it: {column: value}


class DuplicateKey(Exception):
    """A unique key refused the row; ``key`` is the key's name (``uq_users_username``)."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def connect_arguments(config: Mapping[str, Any], database: bool = True) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "host": config["DB_HOST"],
        "port": config["DB_PORT"],
        "user": config["DB_USER"],
        "password": config["DB_PASSWORD"],
        "charset": "utf8mb4",
        "cursorclass": pymysql.cursors.DictCursor,
        "autocommit": True,
        "connect_timeout": 5,
        # Timestamps are stored and read in UTC whatever the server's zone.
        "init_command": "SET time_zone = '+00:00'",
    }
    if database:
        arguments["database"] = config["DB_NAME"]
    if config["DB_SSL_CA"]:
        arguments["ssl"] = tls_context(config["DB_SSL_CA"])
    else:
        # pymysql would otherwise build a TLS context (~0.9 MiB with the system's CAs) for every
        # connection, to try TLS it cannot verify with a server that offers it.
        arguments["ssl_disabled"] = True
    return arguments


@functools.cache
def tls_context(ca_file: str) -> ssl.SSLContext:
    """One context per CA file, shared by every connection: the server's certificate and name verified."""
    return ssl.create_default_context(cafile=ca_file)


def init_app(app: Flask) -> None:
    app.extensions["db_pool"] = None
    app.extensions.setdefault("readiness", {})["database"] = ping
    app.teardown_appcontext(_return_connection)

    @app.errorhandler(pymysql.err.OperationalError)
    def database_unavailable(error: pymysql.err.OperationalError) -> Response:
        # Lost connections, lock wait timeouts, deadlocks: nothing was changed,
        # and the client may retry.
        app.logger.error("database error %s: %s", error.args[0], error.args[-1])
        return error_response(503, "The database is unavailable or busy; try again.")


def _pool() -> PooledDB:
    app = cast("LocalProxy[Flask]", current_app)._get_current_object()
    if app.extensions["db_pool"] is None:
        size = app.config["DB_POOL_SIZE"]
        app.extensions["db_pool"] = PooledDB(
            pymysql,
            maxconnections=size,
            maxcached=size,
            blocking=True,
            ping=_still_open,
            reset=False,
            **connect_arguments(app.config),
        )
    return app.extensions["db_pool"]


def _still_open(connection: pymysql.Connection) -> bool:
    # pymysql keeps its socket private (and None once it has closed it).
    return still_open(connection._sock)


def get_db() -> PooledDedicatedDBConnection:
    """The connection this request (or app context) uses; 503 if the database is down."""
    if "db" not in g:
        pool = _pool()
        pool_use.borrow(current_app.config["DB_POOL_SIZE"])
        try:
            g.db = pool.connection()
        except pymysql.err.OperationalError as error:
            pool_use.give_back()
            current_app.logger.error("database unavailable: %s", error.args[-1])
            raise ApiError(503, "The database is unavailable.") from error
    return g.db


def _return_connection(exception: BaseException | None = None) -> None:
    connection = g.pop("db", None)
    if connection is not None:
        connection.close()
        pool_use.give_back()


@contextmanager
def transaction() -> Iterator[DictCursor]:
    """A cursor inside one database transaction: committed on success, rolled back on error."""
    connection = get_db()
    connection.begin()
    try:
        with connection.cursor() as cursor:
            yield cursor
        connection.commit()
    except BaseException:
        connection.rollback()
        raise


def execute(sql: str, params: tuple[Any, ...] = ()) -> DictCursor:
    """Run one statement on this request's connection and return its cursor (rows, rowcount, lastrowid).

    :raise DuplicateKey: a unique key refused the row.
    """
    with get_db().cursor() as cursor:
        try:
            cursor.execute(sql, params)
        except pymysql.err.IntegrityError as error:
            key = duplicate_key_name(error)
            if key is None:
                raise
            raise DuplicateKey(key) from error
        return cursor


def duplicate_key_name(error: pymysql.err.IntegrityError) -> str | None:
    """The unique key a duplicate-entry error names (``uq_users_username``); None for another error."""
    match = _DUPLICATE_KEY_NAME.search(str(error.args[-1]))
    return match.group(1) if error.args[0] == DUPLICATE_ENTRY and match else None


def update_columns(table: str, row_id: int, changes: Mapping[str, Any], updatable: Iterable[str]) -> None:
    """Set ``changes`` ({column: value}; None stores NULL) on the row of ``table`` with ``id = row_id``.

    :raise ValueError: no change, or a column outside ``updatable``: column
        names are written into the statement, so only known ones may be.
    :raise DuplicateKey: a unique key refused the new values.
    """
    if not changes or not set(updatable).issuperset(changes):
        raise ValueError(f"cannot update {table} with {sorted(changes)}")
    assignments = ", ".join(f"{column} = %s" for column in changes)
    execute(f"UPDATE {table} SET {assignments} WHERE id = %s", (*changes.values(), row_id))


@contextmanager
def conflict_on_duplicate(conflicts: Mapping[str, tuple[str, str]]) -> Iterator[None]:
    """Answer a unique key's refusal inside the block as 409.

    ``conflicts`` maps a unique key's name to the ``(code, message)`` of its 409.

    :raise 409: a key named in ``conflicts`` refused the row.
    """
    try:
        yield
    except DuplicateKey as duplicate:
        if duplicate.key not in conflicts:
            raise
        code, message = conflicts[duplicate.key]
        raise ApiError(409, message, code=code) from duplicate


def ping() -> bool:
    """True when the database answers a trivial query."""
    try:
        with get_db().cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except (ApiError, pymysql.err.MySQLError):
        return False
