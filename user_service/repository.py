"""Every SQL statement of the user service. The password hash is read by
:func:`find_credentials` and :func:`find_password_hash` only; no other query
selects it, so it cannot leak into a response by accident."""

from collections.abc import Mapping, Sequence
from typing import Any

from shop_common.db import Row, execute, transaction, update_columns

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
    return (
        execute(
            "INSERT IGNORE INTO users (username, password_hash, role) VALUES (%s, %s, 'admin')",
            (username, password_hash),
        ).rowcount
        == 1
    )


def find_user(user_id: int) -> Row | None:
    return execute(f"SELECT {USER_COLUMNS} FROM users WHERE id = %s", (user_id,)).fetchone()


def find_credentials(username: str) -> Row | None:
    return execute("SELECT id, username, role, password_hash FROM users WHERE username = %s", (username,)).fetchone()


def find_password_hash(user_id: int) -> str | None:
    row = execute("SELECT password_hash FROM users WHERE id = %s", (user_id,)).fetchone()
    return row and row["password_hash"]


def list_users(limit: int, offset: int) -> Sequence[Row]:
    return execute(f"SELECT {USER_COLUMNS} FROM users ORDER BY id DESC LIMIT %s OFFSET %s", (limit, offset)).fetchall()


def count_users() -> int:
    return execute("SELECT COUNT(*) AS total FROM users").fetchone()["total"]


def update_user(user_id: int, changes: Mapping[str, Any]) -> None:
    """Set the columns in ``changes`` (of :data:`UPDATABLE_COLUMNS`).

    :raise DuplicateKey: the new username belongs to someone else.
    """
    update_columns("users", user_id, changes, UPDATABLE_COLUMNS)


def delete_user(user_id: int) -> bool:
    """Delete the user (their refresh tokens go with them) and queue the erasure of
    their customer profile, in one commit; False when there was no such user."""
    with transaction() as cursor:
        cursor.execute("DELETE FROM users WHERE id = %s", (user_id,))
        if cursor.rowcount != 1:
            return False
        cursor.execute("INSERT IGNORE INTO profile_erasures (user_id) VALUES (%s)", (user_id,))
    return True


# ------------------------------------------------------------ refresh tokens


def insert_refresh_token(
    token_hash: str, family: str, user_id: int, user_agent: str | None, lifetime_seconds: int
) -> None:
    execute(
        "INSERT INTO refresh_tokens (token_hash, family, user_id, user_agent, expires_at) "
        "VALUES (%s, %s, %s, %s, NOW() + INTERVAL %s SECOND)",
        (token_hash, family, user_id, user_agent, lifetime_seconds),
    )


def spend_refresh_token(token_hash: str) -> Row | None:
    """Mark the token spent and return its row as it was before (None when unknown).

    The row is locked while read and marked, so of two requests spending the same
    token exactly one sees it unspent.
    """
    with transaction() as cursor:
        cursor.execute(
            "SELECT family, user_id, spent_at, revoked_at, expires_at < NOW() AS expired "
            "FROM refresh_tokens WHERE token_hash = %s FOR UPDATE",
            (token_hash,),
        )
        token = cursor.fetchone()
        if token and token["spent_at"] is None:
            cursor.execute("UPDATE refresh_tokens SET spent_at = NOW() WHERE token_hash = %s", (token_hash,))
    return token


def live_families(user_id: int) -> list[str]:
    """The user's logins not yet ended."""
    rows = execute(
        "SELECT DISTINCT family FROM refresh_tokens WHERE user_id = %s AND revoked_at IS NULL AND expires_at > NOW()",
        (user_id,),
    ).fetchall()
    return [row["family"] for row in rows]


def revoke_families(families: Sequence[str]) -> None:
    if families:
        placeholders = ", ".join(["%s"] * len(families))
        execute(
            f"UPDATE refresh_tokens SET revoked_at = NOW() WHERE family IN ({placeholders}) AND revoked_at IS NULL",
            tuple(families),
        )


def revoke_user_families(user_id: int) -> None:
    execute("UPDATE refresh_tokens SET revoked_at = NOW() WHERE user_id = %s AND revoked_at IS NULL", (user_id,))


def delete_expired_refresh_tokens() -> int:
    return execute("DELETE FROM refresh_tokens WHERE expires_at < NOW()").rowcount


# ------------------------------------------------------------ profile erasures


def pending_erasures() -> list[int]:
    return [row["user_id"] for row in execute("SELECT user_id FROM profile_erasures ORDER BY user_id").fetchall()]


def finish_erasure(user_id: int) -> None:
    execute("DELETE FROM profile_erasures WHERE user_id = %s", (user_id,))


def note_erasure_failure(user_id: int, reason: str) -> None:
    execute(
        "UPDATE profile_erasures SET attempts = attempts + 1, last_error = %s WHERE user_id = %s",
        (reason[:255], user_id),
    )
