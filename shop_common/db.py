"""Pooled MySQL connections for a service.

DBUtils' ``PooledDB`` keeps up to ``DB_POOL_SIZE`` pymysql connections per
worker process, pings each one as it is handed out (so a connection the server
dropped is replaced, not failed), and rolls back a transaction a request left
open when the connection goes back (``reset=False``: only one begun with
``begin()``, as :func:`transaction` does; connections are in autocommit
otherwise, so the default unconditional ROLLBACK would be a wasted round trip
per request). A request borrows one connection, keeps it on
``g`` and returns it on teardown; repository functions call :func:`get_db`.

The pool is created lazily, on first use, so a gunicorn worker never shares a
socket with the master or a sibling after ``fork``. Borrowed connections and
checkouts that had to wait are counted (:data:`shop_common.metrics.pool_use`).
"""
from contextlib import contextmanager

import pymysql
from dbutils.pooled_db import PooledDB
from flask import current_app, g

from .errors import ApiError, error_response
from .metrics import pool_use


def connect_arguments(config, database=True):
    arguments = {
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
    return arguments


def init_app(app):
    app.extensions["db_pool"] = None
    app.teardown_appcontext(_return_connection)

    @app.errorhandler(pymysql.err.OperationalError)
    def database_unavailable(error):
        # Lost connections, lock wait timeouts, deadlocks: nothing was changed,
        # and the client may retry.
        app.logger.error("database error %s: %s", error.args[0], error.args[-1])
        return error_response(503, "The database is unavailable or busy; try again.")


def _pool():
    app = current_app._get_current_object()
    if app.extensions["db_pool"] is None:
        size = app.config["DB_POOL_SIZE"]
        app.extensions["db_pool"] = PooledDB(
            pymysql, maxconnections=size, maxcached=size, blocking=True, ping=1, reset=False,
            **connect_arguments(app.config),
        )
    return app.extensions["db_pool"]


def get_db():
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


def _return_connection(exception=None):
    connection = g.pop("db", None)
    if connection is not None:
        connection.close()
        pool_use.give_back()


@contextmanager
def transaction():
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


def ping():
    """True when the database answers a trivial query."""
    try:
        with get_db().cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except (ApiError, pymysql.err.MySQLError):
        return False
