"""Logins: a short access token and a rotating refresh token, and ending them.

A login is a *family* (a random id, the ``fam`` claim of all its tokens). Login
answers an access token (``ACCESS_TOKEN_TTL_SECONDS``) and a refresh token
(``REFRESH_TOKEN_TTL_SECONDS``, flask-jwt-extended's ``type: refresh``, which no
route accepts as an access token). The database keeps the refresh token's SHA-256
only, with its family, expiry and the device's user agent. ``POST /refresh`` spends
the token and answers the next pair of the same family, with the user's current
role. A spent token presented again means two parties hold it: the family is
ended (refresh tokens in the database, access tokens in the revocation store) and
the event logged, without the token.
"""

import hashlib
import logging
import time
import uuid
from datetime import timedelta

from flask import current_app, request
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError

from shop_common import revocation
from shop_common.errors import ApiError

from . import repository

log = logging.getLogger(__name__)


def _hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _user_agent():
    return request.headers.get("User-Agent", "")[:255] or None


def start_login(user):
    """A new login (family) for ``user``: its first token pair."""
    return issue_pair(user, uuid.uuid4().hex)


def issue_pair(user, family):
    """The login's next access and refresh token; the refresh token is stored as its hash.

    ``iat`` keeps its fraction of a second: a revocation compares it with its own time.
    """
    config = current_app.config
    issued = {"fam": family, "iat": time.time()}
    access_token = create_access_token(identity=str(user["id"]), additional_claims=dict(issued, role=user["role"]))
    refresh_token = create_refresh_token(
        identity=str(user["id"]),
        additional_claims=issued,
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
    _verified_refresh_claims(refresh_token)
    token = repository.spend_refresh_token(_hash(refresh_token))
    if token is None or token["revoked_at"] is not None or token["expired"]:
        raise _refused()
    if token["spent_at"] is not None:
        log.warning(
            "a spent refresh token was presented again: login %s of user %s ended", token["family"], token["user_id"]
        )
        repository.revoke_families([token["family"]])  # first: it must hold even if Redis is down
        revocation.end_logins([token["family"]])
        raise ApiError(
            401,
            "This refresh token was already used; its login has been ended. Log in again.",
            code="refresh_token_reused",
        )
    user = repository.find_user(token["user_id"])
    if user is None:
        raise _refused()
    return issue_pair(user, token["family"])


def _verified_refresh_claims(refresh_token):
    try:
        claims = decode_token(refresh_token)
    except (JWTExtendedException, PyJWTError) as error:
        raise _refused() from error
    if claims.get("type") != "refresh":
        raise _refused()
    return claims


def _refused():
    return ApiError(401, "The refresh token is invalid, expired or revoked.", code="invalid_refresh_token")


def end_logins(families):
    """End these logins: their access tokens at once, their refresh tokens for good.

    :raise 503: the revocation store cannot be reached (nothing is changed).
    """
    revocation.end_logins(families)
    repository.revoke_families(families)


def end_every_login(user_id):
    """End all of the user's logins, and every token they hold (logout-all).

    :raise 503: the revocation store cannot be reached (nothing is changed).
    """
    revocation.revoke_user(user_id)
    repository.revoke_user_families(user_id)


def end_access_tokens(user_id):
    """Refuse the user's access tokens issued so far; their logins go on, and the next
    refresh carries what changed (a role).

    :raise 503: the revocation store cannot be reached.
    """
    revocation.revoke_user(user_id)


def end_other_logins(user_id, kept_family):
    """End every login of the user but ``kept_family`` (a password change keeps the login that made it)."""
    end_logins([family for family in repository.live_families(user_id) if family != kept_family])
