"""Logins, their tokens, and the changes that end them, in one order with each other.

**Tokens.** A login is a *family* (a random id, the ``fam`` claim of all its tokens).
Login answers an access token (``ACCESS_TOKEN_TTL_SECONDS``) and a refresh token
(``REFRESH_TOKEN_TTL_SECONDS``, flask-jwt-extended's ``type: refresh``, which no route
accepts as an access token). The database keeps the refresh token's SHA-256 only, with
its family, expiry and the device's user agent. ``POST /refresh`` spends the token and
answers the next pair of the same family, with the user's current role. An access
token also carries the user's *session epoch* (``epoch``, ``users.session_epoch``),
which a change ending all of the user's access tokens raises (logout-all, a role
change, a deletion). Ending tokens: refresh tokens are revoked (or deleted) in the
database; access tokens are refused by a Redis record, ``login:<family>`` or the
user's epoch (shop_common/revocation.py, one ``MGET`` per request).

**Why no token outlives the change that ends it.** Every login, refresh and change of
one user runs in one database transaction that first locks the user's row
(``SELECT ... FOR UPDATE``, :func:`repository.locked_user`), so they happen one at a
time, in one order. Under the lock a login or refresh reads the role, the epoch and
(a login) the password hash, signs its tokens (their ``exp`` counts from then), stores
its refresh token, and commits. Under the lock a change makes its database changes
(role, hash, epoch, refresh tokens revoked or deleted), then writes its Redis record,
then commits; Redis unreachable, it rolls back and answers 503, nothing changed. Take
a change C and a login or refresh L:

- L locked first: its refresh token was stored before C ran, so C's update revokes or
  deletes it; its access token was signed before C's record was written, and the
  record (kept an access token's life plus ``EXPIRY_MARGIN_SECONDS`` for clocks)
  names L's family or an epoch above L's, so it outlives that token.
- C locked first: L sees C's outcome: the new role and epoch; a new password hash (a
  login that verified the old one is refused, 401); its family revoked (401); the user
  deleted (401, never a foreign key's 500).

So a demotion or password change during a login, a logout racing a refresh and a
deletion racing a login each end the racing login's tokens or refuse it. Of parallel
presentations of one refresh token the first to lock wins; the next finds it spent and
revokes the whole family, the winner's new refresh token included. That revocation is
committed first (it must hold with Redis down) and its record written after the
commit: no token of the family can be issued after that commit, so the record still
comes after every token it covers. bcrypt runs outside the lock, being the slow part:
a login, and a user changing their own password, compare the hash they verified with
the one under the lock. A commit that fails after its record was written leaves Redis
ahead of the database: tokens are refused too early (for at most a record's life),
never too late.
"""

import hashlib
import logging
import uuid
from datetime import timedelta

from flask import current_app, request
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError

from shop_common import revocation
from shop_common.auth import USER_SUBJECT
from shop_common.errors import ApiError

from . import repository
from .credentials import verify_password

log = logging.getLogger(__name__)


def _hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _user_agent():
    return request.headers.get("User-Agent", "")[:255] or None


def _invalid_credentials():
    return ApiError(401, "Invalid username or password.", code="invalid_credentials")


def log_in(username, password):
    """A new login (family) for ``username``: ``(its first token pair, the user)``.

    :raise 401: unknown user or wrong password, one answer for both; also when the user
        was deleted, or their password changed, while the password was being checked.
    """
    credentials = repository.find_credentials(username)
    verified_hash = credentials["password_hash"] if credentials else None
    if not verify_password(password, verified_hash, current_app.config["BCRYPT_ROUNDS"]):
        raise _invalid_credentials()
    with repository.locked_user(credentials["id"]) as user:
        if user is None or user["password_hash"] != verified_hash:
            raise _invalid_credentials()
        pair = _issue_pair(user, uuid.uuid4().hex)
    return pair, {key: user[key] for key in ("id", "username", "role")}


def _issue_pair(user, family):
    """Inside locked_user: the login's next access and refresh token, signed now; the
    refresh token is stored as its hash."""
    config = current_app.config
    access_token = create_access_token(
        identity=str(user["id"]),
        additional_claims={"fam": family, "epoch": user["session_epoch"], "role": user["role"]},
    )
    refresh_token = create_refresh_token(
        identity=str(user["id"]),
        additional_claims={"fam": family},
        expires_delta=timedelta(seconds=config["REFRESH_TOKEN_TTL_SECONDS"]),
    )
    repository.insert_refresh_token(
        _hash(refresh_token), family, user["id"], _user_agent(), config["REFRESH_TOKEN_TTL_SECONDS"]
    )
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": config["ACCESS_TOKEN_TTL_SECONDS"],
        "refresh_token": refresh_token,
        "refresh_expires_in": config["REFRESH_TOKEN_TTL_SECONDS"],
    }


def refresh(refresh_token):
    """Spend ``refresh_token`` and answer the next pair of its login.

    :raise 401: not a valid, unexpired refresh token of a live login (an access
        token is refused here); ``refresh_token_reused`` when it was spent before,
        which ends its login.
    """
    user_id = _verified_refresh_subject(refresh_token)
    token_hash = _hash(refresh_token)
    with repository.locked_user(user_id) as user:
        token = repository.lock_refresh_token(token_hash)
        if user is None or token is None or token["user_id"] != user_id:
            raise _refused()
        if token["revoked_at"] is not None or token["expired"]:
            raise _refused()
        if token["spent_at"] is None:
            repository.spend_refresh_token(token_hash)
            return _issue_pair(user, token["family"])
        repository.revoke_families([token["family"]])
    _end_reused_login(token)


def _end_reused_login(token):
    """After the family's refresh tokens are revoked and committed: its access tokens too.

    :raise 401: ``refresh_token_reused``. :raise 503: Redis cannot be reached.
    """
    log.warning(
        "a spent refresh token was presented again: login %s of user %s ended", token["family"], token["user_id"]
    )
    revocation.end_logins([token["family"]])
    raise ApiError(
        401, "This refresh token was already used; its login has been ended. Log in again.", code="refresh_token_reused"
    )


def _verified_refresh_subject(refresh_token):
    """The user id of a refresh token signed here. :raise 401: any other token."""
    try:
        claims = decode_token(refresh_token)
    except (JWTExtendedException, PyJWTError) as error:
        raise _refused() from error
    subject = claims.get("sub")
    if claims.get("type") != "refresh" or not isinstance(subject, str) or not USER_SUBJECT.fullmatch(subject):
        raise _refused()
    return int(subject)


def _refused():
    return ApiError(401, "The refresh token is invalid, expired or revoked.", code="invalid_refresh_token")


def end_login(user_id, family):
    """End this login: its refresh tokens and access tokens (logout).

    :raise 503: the revocation store cannot be reached (nothing is changed).
    """
    with repository.locked_user(user_id):
        repository.revoke_families([family])
        revocation.end_logins([family])


def end_every_login(user_id):
    """End all of the user's logins, and every token they hold (logout-all).

    :raise 503: the revocation store cannot be reached (nothing is changed).
    """
    with repository.locked_user(user_id) as user:
        if user is not None:
            repository.revoke_user_families(user_id)
            _end_access_tokens(user)


def _end_access_tokens(user):
    """Inside locked_user: refuse every access token issued so far, by raising the
    user's session epoch (in the database, then in Redis)."""
    repository.raise_session_epoch(user["id"])
    revocation.raise_epoch(user["id"], user["session_epoch"] + 1)


def _end_logins_but(user_id, kept_family):
    """Inside locked_user: end every login of the user but ``kept_family``."""
    families = [family for family in repository.live_families(user_id) if family != kept_family]
    repository.revoke_families(families)
    revocation.end_logins(families)


def change_user(user_id, changes, verified_hash=None, kept_family=None):
    """Set ``changes`` (columns) and end the tokens they call for, in one step.

    A new role ends every access token (the login goes on: its next refresh carries
    the new role); a new ``password_hash`` ends every login but ``kept_family`` (a
    user's own change keeps the login that made it). ``verified_hash`` is the hash a
    ``currentPassword`` was checked against.

    :raise 404: no such user. :raise 401: the password changed since ``verified_hash``.
    :raise DuplicateKey: the new username is taken. :raise 503: the revocation store
        cannot be reached. Each of these changes nothing.
    """
    with repository.locked_user(user_id) as user:
        if user is None:
            raise ApiError(404, f"User {user_id} was not found.")
        if verified_hash is not None and user["password_hash"] != verified_hash:
            raise ApiError(401, "currentPassword is missing or wrong.", code="invalid_credentials")
        repository.update_user(user_id, changes)
        if changes.get("role", user["role"]) != user["role"]:
            _end_access_tokens(user)
        if "password_hash" in changes:
            _end_logins_but(user_id, kept_family)


def delete_user(user_id):
    """Delete the user with their erasure queued, and end every token of theirs, in one
    step; False when there is no such user.

    :raise 503: the revocation store cannot be reached (nothing is deleted).
    """
    with repository.locked_user(user_id) as user:
        if user is None:
            return False
        repository.delete_user(user_id)
        revocation.raise_epoch(user_id, user["session_epoch"] + 1)
    return True
