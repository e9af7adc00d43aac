"""Every SQL statement of the user service. The password hash is read by
:func:`find_credentials` and :func:`find_password_hash` only; no other query
selects it, so it cannot leak into an answer by accident."""
import pymysql

from shop_common.db import get_db

DUPLICATE_KEY = 1062
USER_COLUMNS = "id, username, role, created_at"


class UsernameTaken(Exception):
    pass


def _execute(sql, params=()):
    with get_db().cursor() as cursor:
        cursor.execute(sql, params)
        return cursor


def insert_user(username, password_hash, role):
    """:raise UsernameTaken: the username exists (case-insensitively)."""
    try:
        return _execute(
            "INSERT INTO users (username, password_hash, role) VALUES (%s, %s, %s)",
            (username, password_hash, role),
        ).lastrowid
    except pymysql.err.IntegrityError as error:
        if error.args[0] == DUPLICATE_KEY:
            raise UsernameTaken(username) from error
        raise


def insert_admin_if_missing(username, password_hash):
    """Create the admin unless the username exists; True when it was created."""
    return _execute(
        "INSERT IGNORE INTO users (username, password_hash, role) VALUES (%s, %s, 'admin')",
        (username, password_hash),
    ).rowcount == 1


def find_user(user_id):
    return _execute(f"SELECT {USER_COLUMNS} FROM users WHERE id = %s", (user_id,)).fetchone()


def find_credentials(username):
    return _execute(
        "SELECT id, username, role, password_hash FROM users WHERE username = %s", (username,)
    ).fetchone()


def find_password_hash(user_id):
    row = _execute("SELECT password_hash FROM users WHERE id = %s", (user_id,)).fetchone()
    return row and row["password_hash"]


def list_users(limit, offset):
    return _execute(
        f"SELECT {USER_COLUMNS} FROM users ORDER BY id DESC LIMIT %s OFFSET %s", (limit, offset)
    ).fetchall()


def count_users():
    return _execute("SELECT COUNT(*) AS total FROM users").fetchone()["total"]


def update_user(user_id, username=None, password_hash=None, role=None):
    """Change the given columns.

    :raise UsernameTaken: the new username belongs to someone else.
    """
    changes = {"username": username, "password_hash": password_hash, "role": role}
    changes = {column: value for column, value in changes.items() if value is not None}
    assignments = ", ".join(f"{column} = %s" for column in changes)
    try:
        _execute(f"UPDATE users SET {assignments} WHERE id = %s", (*changes.values(), user_id))
    except pymysql.err.IntegrityError as error:
        if error.args[0] == DUPLICATE_KEY:
            raise UsernameTaken(username) from error
        raise


def delete_user(user_id):
    return _execute("DELETE FROM users WHERE id = %s", (user_id,)).rowcount == 1
