"""Every SQL statement of the user service. The password hash is read by
:func:`find_credentials`, :func:`find_password_hash` and :func:`locked_user` only;
no other query selects it, so it cannot leak into a response by accident.

Functions marked *inside locked_user* change sessions: they run in the transaction
:func:`locked_user` holds, on the request's one connection, and commit with it."""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
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


@contextmanager
def locked_user(user_id: int) -> Iterator[Row | None]:
    """A transaction holding the user's row lock, committed when the block ends
    (rolled back when it raises); yields the row with its password hash and
    session epoch, or None when there is no such user.

    Every login, refresh and session change of one user takes this lock, so they
    happen one after another (user_service/sessions.py).
    """
    with transaction() as cursor:
        cursor.execute(
            "SELECT id, username, role, password_hash, session_epoch FROM users WHERE id = %s FOR UPDATE", (user_id,)
        )
        yield cursor.fetchone()


def raise_session_epoch(user_id: int) -> None:
    """Inside locked_user: the user's next session epoch."""
    execute("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = %s", (user_id,))


def delete_user(user_id: int) -> None:
    """Inside locked_user: delete the user (their refresh tokens go with them) and
    queue the erasure of their customer profile."""
    execute("DELETE FROM users WHERE id = %s", (user_id,))
    execute("INSERT IGNORE INTO profile_erasures (user_id) VALUES (%s)", (user_id,))


# ------------------------------------------------------------ refresh tokens


def insert_refresh_token(
    token_hash: str, family: str, user_id: int, user_agent: str | None, lifetime_seconds: int
) -> None:
    """Inside locked_user."""
    execute(
        "INSERT INTO refresh_tokens (token_hash, family, user_id, user_agent, expires_at) "
        "VALUES (%s, %s, %s, %s, NOW() + INTERVAL %s SECOND)",
        (token_hash, family, user_id, user_agent, lifetime_seconds),
    )


def lock_refresh_token(token_hash: str) -> Row | None:
    """Inside locked_user: the token's row, locked until the commit (None when unknown)."""
    return execute(
        "SELECT family, user_id, spent_at, revoked_at, expires_at < NOW() AS expired "
        "FROM refresh_tokens WHERE token_hash = %s FOR UPDATE",
        (token_hash,),
    ).fetchone()


def spend_refresh_token(token_hash: str) -> None:
    """Inside locked_user."""
    execute("UPDATE refresh_tokens SET spent_at = NOW() WHERE token_hash = %s", (token_hash,))


def live_families(user_id: int) -> list[str]:
    """Inside locked_user: the user's logins not yet ended."""
    rows = execute(
        "SELECT DISTINCT family FROM refresh_tokens WHERE user_id = %s AND revoked_at IS NULL AND expires_at > NOW()",
        (user_id,),
    ).fetchall()
    return [row["family"] for row in rows]


def revoke_families(families: Sequence[str]) -> None:
    """Inside locked_user."""
    if families:
        placeholders = ", ".join(["%s"] * len(families))
        execute(
            f"UPDATE refresh_tokens SET revoked_at = NOW() WHERE family IN ({placeholders}) AND revoked_at IS NULL",
            tuple(families),
        )


def revoke_user_families(user_id: int) -> None:
    """Inside locked_user."""
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
