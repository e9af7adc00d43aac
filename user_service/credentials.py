"""Username and password rules, and bcrypt hashing.

bcrypt reads at most 72 bytes, and stops at a NUL byte, so longer passwords and
passwords holding a NUL are refused at validation rather than silently cut short
(``"ab\\0ab\\0ab"`` would be ``"ab"``). Usernames are compared case-insensitively
by the database collation: ``Alice`` and ``alice`` are the same account.
"""

import functools
import re

import bcrypt

USERNAME = re.compile(r"[A-Za-z0-9_.-]{3,32}")
USERNAME_HINT = "must be 3 to 32 letters, digits, '.', '_' or '-'"
MIN_LENGTH = 8
MAX_BYTES = 72


@functools.lru_cache
def _unknown_user_hash(rounds):
    """Checked against when the username is unknown, so a login for a missing user
    takes as long as one with a wrong password and does not reveal which it was."""
    return bcrypt.hashpw(b"unknown-user", bcrypt.gensalt(rounds=rounds))


def hash_password(password, rounds):
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def verify_password(password, password_hash, rounds):
    """True when ``password`` matches.

    With ``password_hash`` None (unknown user), or a password over 72 bytes or
    holding a NUL (which no password is that was set with these rules, and which
    bcrypt would refuse or cut short), it spends the time of a check and fails,
    so no case is told apart by timing.
    """
    candidate = password.encode()
    if password_hash is None or len(candidate) > MAX_BYTES or b"\0" in candidate:
        bcrypt.checkpw(candidate[:MAX_BYTES], _unknown_user_hash(rounds))
        return False
    return bcrypt.checkpw(candidate, password_hash.encode())


def password_problem(password):
    """What is wrong with ``password`` as a new password, or None."""
    if not isinstance(password, str):
        return "must be a string"
    if "\0" in password:
        return "must not contain a NUL character (U+0000)"
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password.encode()) > MAX_BYTES:
        return f"must be at most {MAX_BYTES} bytes"
    return None
