"""Every SQL statement of the user service. The password hash is read by
:func:`find_credentials` and :func:`find_password_hash` only; no other query
selects it, so it cannot leak into a response by accident."""
from collections.abc import Mapping, Sequence
from typing import Any

from shop_common.db import Row, execute, update_columns

USER_COLUMNS = "id, username, role, created_at"
UPDATABLE_COLUMNS = ("username", "password_hash", "role")
USERNAME_KEY = "uq_users_username"


def insert_user(username: str, password_hash: str, role: str) -> int:
    """:raise DuplicateKey: the username exists (case-insensitively), key :data:`USERNAME_KEY`."""
    return execute(
        "INSERT INTO users (username, password_hash, role) VALUES (%s, %s, %s)",
        (username, password_hash, role),
    ).lastrowid


def insert_admin_if_missing(username: str, password_hash: str) -> bool:
    """Create the admin unless the username exists; True when it was created."""
    return execute(
        "INSERT IGNORE INTO users (username, password_hash, role) VALUES (%s, %s, 'admin')",
        (username, password_hash),
    ).rowcount == 1


def find_user(user_id: int) -> Row | None:
    return execute(f"SELECT {USER_COLUMNS} FROM users WHERE id = %s", (user_id,)).fetchone()


def find_credentials(username: str) -> Row | None:
    return execute(
        "SELECT id, username, role, password_hash FROM users WHERE username = %s", (username,)
    ).fetchone()


def find_password_hash(user_id: int) -> str | None:
    row = execute("SELECT password_hash FROM users WHERE id = %s", (user_id,)).fetchone()
    return row and row["password_hash"]


def list_users(limit: int, offset: int) -> Sequence[Row]:
    return execute(
        f"SELECT {USER_COLUMNS} FROM users ORDER BY id DESC LIMIT %s OFFSET %s", (limit, offset)
    ).fetchall()


def count_users() -> int:
    return execute("SELECT COUNT(*) AS total FROM users").fetchone()["total"]


def update_user(user_id: int, changes: Mapping[str, Any]) -> None:
    """Set the columns in ``changes`` (of :data:`UPDATABLE_COLUMNS`).

    :raise DuplicateKey: the new username belongs to someone else.
    """
    update_columns("users", user_id, changes, UPDATABLE_COLUMNS)


def delete_user(user_id: int) -> bool:
    return execute("DELETE FROM users WHERE id = %s", (user_id,)).rowcount == 1
