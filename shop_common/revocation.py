"""Revocation of user tokens that takes effect at once, at the gateway and in every service.

Two kinds of record in Redis, read together in one round trip (``MGET``) on every
request carrying a user token, by the gateway's token check and again by the service:

- ``<prefix>login:<family>``: a login has ended (logout, a password change ending
  the other logins, or its refresh token used twice). Every access token of a login
  carries its ``fam`` (the refresh-token family), so all of them are refused.
- ``<prefix>epoch:<id>``: the user's session epoch, raised by a change that ends
  every access token of theirs (logout-all, a role change, a deletion). Access
  tokens carry the ``epoch`` they were issued in; an older one is refused. A token
  with no ``epoch`` counts as epoch 0.

The user service writes a record while it holds the user's row lock, which every
login and refresh of that user takes too (user_service/sessions.py says why that
makes the changes linearizable). So every token a record covers was issued before
the record was written, and the record, kept for an access token's life plus a
margin, outlives each of them.

A public route at the gateway skips the check (:func:`shop_common.auth.bearer_caller`): it finds the
caller only to count them for the rate limit, and the service behind it checks
where a token matters (register with a role).

Refresh tokens are checked against the user database, not here; service tokens
cannot be revoked (they never leave the services).

When Redis cannot be reached a request is decided by what it risks
(docs/sessions.md): a read (GET, HEAD, OPTIONS) by a customer goes on (a revoked token reads
its own data for the rest of its short life, logged), anything that changes data and
anything an admin does is refused with 503 ``revocation_unavailable``.
"""

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask import Flask, current_app, request

from . import auth
from .errors import ApiError
from .redis_client import RedisClient, RedisError

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Beyond the access tokens' life, for clocks of the processes that disagree a little.
EXPIRY_MARGIN_SECONDS = 60
# A Redis that stops answering must not hold requests for long.
TIMEOUT_SECONDS = 0.5


def init_app(app: Flask) -> None:
    """Check every verified token of ``app`` against the store (flask-jwt-extended's blocklist hook)."""
    app.extensions["revocation_store"] = RedisClient(app.config["REVOCATION_REDIS_URL"], TIMEOUT_SECONDS)
    app.extensions["flask-jwt-extended"].token_in_blocklist_loader(is_revoked)


def _store() -> RedisClient:
    return current_app.extensions["revocation_store"]


def _key(*parts: object) -> str:
    return current_app.config["REVOCATION_KEY_PREFIX"] + ":".join(map(str, parts))


def _record_seconds() -> int:
    return current_app.config["ACCESS_TOKEN_TTL_SECONDS"] + EXPIRY_MARGIN_SECONDS


def is_revoked(header: Mapping[str, Any], claims: Mapping[str, Any]) -> bool:
    """flask-jwt-extended's blocklist check of the current request."""
    return revoked(claims, request.method, request.path)


def revoked(claims: Mapping[str, Any], method: str, path: str) -> bool:
    """True when the token's login has ended or the user's session epoch has passed the token's.

    Needs an app context, not a request's (the gateway's forwarding below Flask calls it).

    :raise 503: Redis cannot be reached and the request (``method``, ``path``) is not a customer's read.
    """
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.isdigit():
        return False  # a service token; a malformed subject is refused by the caller check
    epoch = claims.get("epoch", 0)
    if isinstance(epoch, bool) or not isinstance(epoch, int):
        return True
    keys = _record_keys(subject, claims)
    try:
        records = dict(zip(keys, _store().mget(list(keys.values())), strict=True))
    except RedisError as error:
        return _unchecked(claims, method, path, error)
    if records.get("login") is not None:
        return True
    revoked_at = records.get("revoked_at")
    if revoked_at is not None and float(claims.get("iat", 0)) < float(revoked_at):
        return True
    return records["epoch"] is not None and epoch < int(records["epoch"])


def _record_keys(subject: str, claims: Mapping[str, Any]) -> dict[str, str]:
    """The records that can refuse this token, read with one MGET.

    A token with no ``epoch`` was issued by the release before session epochs, which refused a
    user's tokens by a time (``user:<id>``): that record still counts for the rest of its life
    (an access token's), so an upgrade revives no token the old release had ended.
    """
    keys = {"epoch": _key("epoch", subject)}
    if claims.get("fam"):
        keys["login"] = _key("login", claims["fam"])
    if "epoch" not in claims:
        keys["revoked_at"] = _key("user", subject)
    return keys


def _unchecked(claims: Mapping[str, Any], method: str, path: str, error: RedisError) -> bool:
    if method in SAFE_METHODS and claims.get("role") == auth.CUSTOMER:
        log.warning("revocation store unreachable (%s): %s %s let through unchecked", error, method, path)
        return False
    log.error("revocation store unreachable (%s): %s %s refused", error, method, path)
    raise ApiError(
        503, "Token revocation cannot be checked right now; try again shortly.", code="revocation_unavailable"
    )


def end_logins(families: Iterable[str]) -> None:
    """Refuse every access token of these logins from now on.

    :raise 503: Redis cannot be reached (nothing recorded; the caller changes nothing either).
    """
    _write([(_key("login", family), "1") for family in families])


def raise_epoch(user_id: int, epoch: int) -> None:
    """Refuse every access token of ``user_id`` issued in an epoch before ``epoch``.

    :raise 503: Redis cannot be reached.
    """
    _write([(_key("epoch", user_id), str(epoch))])


def _write(records: Sequence[tuple[str, str]]) -> None:
    """Set each ``(key, value)`` for as long as an access token lives, in one round trip."""
    if not records:
        return
    try:
        _store().set_for(records, _record_seconds())
    except RedisError as error:
        log.error("revocation store unreachable: %s", error)
        raise ApiError(
            503,
            "Tokens cannot be revoked right now; nothing was changed. Try again shortly.",
            code="revocation_unavailable",
        ) from error
