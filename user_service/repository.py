"""Every SQL statement of the user service. The password hash is read by
:func:`find_credentials` and :func:`find_password_hash` only; no other query
selects it, so it cannot leak into an answer by accident."""
import pymysql

from shop_common.db import get_db, transaction

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
    """Delete the user (their refresh tokens go with them) and queue the erasure of
    their customer profile, in one commit; False when there was no such user."""
    with transaction() as cursor:
        cursor.execute("DELETE FROM users WHERE id = %s", (user_id,))
        if cursor.rowcount != 1:
            return False
        cursor.execute("INSERT IGNORE INTO profile_erasures (user_id) VALUES (%s)", (user_id,))
    return True


# ------------------------------------------------------------ refresh tokens

def insert_refresh_token(token_hash, family, user_id, user_agent, lifetime_seconds):
    _execute(
        "INSERT INTO refresh_tokens (token_hash, family, user_id, user_agent, expires_at) "
        "VALUES (%s, %s, %s, %s, NOW() + INTERVAL %s SECOND)",
        (token_hash, family, user_id, user_agent, lifetime_seconds),
    )


def spend_refresh_token(token_hash):
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


def live_families(user_id):
    """The user's logins not yet ended."""
    rows = _execute(
        "SELECT DISTINCT family FROM refresh_tokens WHERE user_id = %s AND revoked_at IS NULL AND expires_at > NOW()",
        (user_id,),
    ).fetchall()
    return [row["family"] for row in rows]


def revoke_families(families):
    if families:
        placeholders = ", ".join(["%s"] * len(families))
        _execute(f"UPDATE refresh_tokens SET revoked_at = NOW() WHERE family IN ({placeholders}) "
                 "AND revoked_at IS NULL", tuple(families))


def revoke_user_families(user_id):
    _execute("UPDATE refresh_tokens SET revoked_at = NOW() WHERE user_id = %s AND revoked_at IS NULL", (user_id,))


def delete_expired_refresh_tokens():
    return _execute("DELETE FROM refresh_tokens WHERE expires_at < NOW()").rowcount


# ------------------------------------------------------------ profile erasures

def pending_erasures():
    return [row["user_id"] for row in _execute("SELECT user_id FROM profile_erasures ORDER BY user_id").fetchall()]


def finish_erasure(user_id):
    _execute("DELETE FROM profile_erasures WHERE user_id = %s", (user_id,))


def note_erasure_failure(user_id, reason):
    _execute("UPDATE profile_erasures SET attempts = attempts + 1, last_error = %s WHERE user_id = %s",
             (reason[:255], user_id))
