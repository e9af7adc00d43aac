"""JWT access tokens for users and services, and the checks routes make with them.

A user token carries ``sub`` = the user id (a string) and ``role`` (``admin`` or
``customer``); a service token carries ``sub`` = ``service:<name>`` and
``role`` = ``service``. Both are HS256, signed with ``JWT_SECRET_KEY``; no other
algorithm is accepted on decode, so ``alg: none`` and RS/HS confusion fail.

Every token failure is answered with a JSON 401 (flask-jwt-extended's default is
``{"msg": ...}`` and 422 for some of them).

A token verified in full is not decoded and verified again while it lives: each app keeps
the last ``MAX_VERIFIED_TOKENS`` Authorization headers it verified, with their claims and
caller. That is safe because a token is immutable (the key is the whole header, so any
changed byte misses and is verified in full), only claims that passed every check are
kept (signature, type, claims: a failure is never kept), its expiry is checked again on
every use, the revocation check still runs on every request, and the cache is bounded and
never logged. It saves the base64, JSON and HMAC work of a decode on each request.
"""

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any, Literal, overload

from flask import Flask, Response, current_app, g, request
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    decode_token,
    get_jwt,
    get_jwt_header,
    verify_jwt_in_request,
)
from flask_jwt_extended.config import config as jwt_config
from flask_jwt_extended.exceptions import CSRFError, JWTExtendedException, NoAuthorizationError
from flask_jwt_extended.internal_utils import verify_token_not_blocklisted, verify_token_type
from jwt import ExpiredSignatureError, PyJWTError

from . import revocation
from .errors import ApiError, error_response
from .settings import SERVICES
from .validation import MAX_ID

ADMIN = "admin"
CUSTOMER = "customer"
SERVICE = "service"

SERVICE_TOKEN_TTL = timedelta(hours=1)
# A user id as the database holds it (INT UNSIGNED), in ASCII digits: int() would also
# take "١" (Arabic one) for 1 and fail on "²"; a service's subject names a service.
USER_SUBJECT = re.compile(r"[1-9][0-9]{0,9}")
SERVICE_SUBJECT = re.compile(f"service:({'|'.join(SERVICES)})")
# Verified tokens kept per app (about 1 kB each); beyond this the oldest is dropped.
MAX_VERIFIED_TOKENS = 1024

# What a 401 says about the token.
NO_TOKEN = "A bearer token is required."
INVALID_TOKEN = "The token is invalid."
EXPIRED_TOKEN = "The token has expired."
REVOKED_TOKEN = "The token has been revoked."


@dataclass(frozen=True)
class Caller:
    """Who made the request, from a verified token."""

    user_id: int | None
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def is_service(self) -> bool:
        return self.role == SERVICE

    def may_act_for(self, user_id: int) -> bool:
        """Admins and services act for anyone; a customer only for themself."""
        return self.is_admin or self.is_service or self.user_id == user_id


def init_app(app: Flask) -> None:
    app.config.update(
        JWT_ALGORITHM="HS256",
        JWT_DECODE_ALGORITHMS=["HS256"],
        JWT_TOKEN_LOCATION=["headers"],
        JWT_ACCESS_TOKEN_EXPIRES=timedelta(seconds=app.config["ACCESS_TOKEN_TTL_SECONDS"]),
    )
    if not app.config.get("JWT_SECRET_KEY"):
        raise RuntimeError("JWT_SECRET_KEY is not set: add it to .env (make env creates one).")
    jwt = JWTManager(app)

    def unauthorized(message: str) -> Response:
        return error_response(401, message, headers={"WWW-Authenticate": "Bearer"})

    jwt.unauthorized_loader(lambda reason: unauthorized(NO_TOKEN))
    jwt.invalid_token_loader(lambda reason: unauthorized(INVALID_TOKEN))
    jwt.expired_token_loader(lambda header, payload: unauthorized(EXPIRED_TOKEN))
    jwt.revoked_token_loader(lambda header, payload: unauthorized(REVOKED_TOKEN))
    jwt.needs_fresh_token_loader(lambda header, payload: unauthorized("A fresh token is required."))
    jwt.user_lookup_error_loader(lambda header, payload: unauthorized("The token's user is unknown."))
    jwt.token_verification_failed_loader(lambda header, payload: unauthorized("The token was refused."))
    app.extensions["service_token"] = None
    app.extensions["verified_tokens"] = VerifiedTokens()


def create_user_token(user_id: int, role: str) -> str:
    return create_access_token(identity=str(user_id), additional_claims={"role": role})


def service_token() -> str:
    """A service token for this process, made once and renewed shortly before it expires."""
    cached = current_app.extensions.get("service_token")
    if cached is None or cached[1] - time.time() < 300:
        name = current_app.config["SERVICE_NAME"]
        token = create_access_token(
            identity=f"service:{name}",
            additional_claims={"role": SERVICE},
            expires_delta=SERVICE_TOKEN_TTL,
        )
        cached = (token, time.time() + SERVICE_TOKEN_TTL.total_seconds())
        current_app.extensions["service_token"] = cached
    return cached[0]


def current_caller() -> Caller:
    """The caller of a request already checked by :func:`auth_required`."""
    return g.caller


def current_claims() -> Mapping[str, Any]:
    """The claims of the token of a request already checked by :func:`auth_required`."""
    return g.claims


@dataclass(frozen=True)
class VerifiedToken:
    header: dict[str, Any]
    claims: dict[str, Any]
    caller: Caller


class VerifiedTokens:
    """Authorization headers whose token passed every check, bounded (see the module's docstring)."""

    def __init__(self, size: int = MAX_VERIFIED_TOKENS) -> None:
        self._size = size
        self._tokens: dict[str, VerifiedToken] = {}
        self._lock = threading.Lock()

    def get(self, authorization: str) -> VerifiedToken | None:
        """The verified token of ``authorization`` if kept and not expired yet (an expired one is dropped)."""
        token = self._tokens.get(authorization)
        if token is None or time.time() < token.claims["exp"]:
            return token
        with self._lock:
            self._tokens.pop(authorization, None)
        return None

    def keep(self, authorization: str, token: VerifiedToken) -> None:
        with self._lock:
            if authorization not in self._tokens and len(self._tokens) >= self._size:
                del self._tokens[next(iter(self._tokens))]
            self._tokens[authorization] = token


def _caller_from_claims(claims: Mapping[str, Any]) -> Caller:
    """The caller a verified token names; its claims are checked strictly, since a
    mis-issued or leaked token is signed with the right key all the same.

    :raise 401: no ``exp``, a ``role`` not known, or a ``sub`` that is not a user id
        in ASCII digits (or ``service:<name>`` for a service).
    """
    if not isinstance(claims.get("exp"), int):
        raise ApiError(401, "The token has no expiry.")
    role = claims.get("role")
    if role not in (ADMIN, CUSTOMER, SERVICE):
        raise ApiError(401, "The token has no valid role.")
    subject = claims.get("sub")
    subject = subject if isinstance(subject, str) else ""
    if role == SERVICE:
        if not SERVICE_SUBJECT.fullmatch(subject):
            raise ApiError(401, "The token's subject is not a service.")
        return Caller(None, SERVICE)
    if not USER_SUBJECT.fullmatch(subject) or int(subject) > MAX_ID:
        raise ApiError(401, "The token's subject is not a user id.")
    return Caller(int(subject), role)


@overload
def identify_caller(optional: Literal[False] = False) -> Caller: ...
@overload
def identify_caller(optional: bool) -> Caller | None: ...
def identify_caller(optional: bool = False) -> Caller | None:
    """Verify the bearer token and keep the caller on ``g``; None when optional and absent.

    With no token header at all, an optional caller is None at once: flask-jwt-extended's
    search for a token would find nothing, at a cost on every anonymous request. A token this
    app verified before is taken as verified (see the module's docstring): only its expiry
    and its revocation are checked again.

    :raise 401: no token (unless optional), or an invalid, expired or forged one.
    """
    authorization = request.headers.get(current_app.config["JWT_HEADER_NAME"])
    if optional and authorization is None:
        g.caller = None
        return None
    tokens: VerifiedTokens = current_app.extensions["verified_tokens"]
    token = tokens.get(authorization) if authorization and request.method not in jwt_config.exempt_methods else None
    if token is not None:
        verify_token_not_blocklisted(token.header, token.claims)
    elif verify_jwt_in_request(optional=optional) is None:
        g.caller = None
        return None
    else:
        claims = get_jwt()
        token = VerifiedToken(get_jwt_header(), claims, _caller_from_claims(claims))
        if authorization is not None:  # always, tokens being read from headers alone
            tokens.keep(authorization, token)
    g.claims, g.caller = token.claims, token.caller
    return token.caller


def bearer_caller(
    headers: Mapping[str, str], method: str, path: str, optional: bool = False, check_revocation: bool = True
) -> Caller | None:
    """The caller named by the access token in ``headers``' ``Authorization``, checked as
    :func:`identify_caller` checks it (flask-jwt-extended's header format, signature, algorithm,
    expiry, token type, then revocation unless ``check_revocation`` is False, then the claims)
    but with an app context only, no request's: the gateway's token check, on both of its paths.
    None when ``optional`` and no token was sent, or for a method flask-jwt-extended exempts (``OPTIONS``).

    :raise 401: no token (unless optional), or an invalid, expired, revoked or forged one, with
        the message flask-jwt-extended's loaders give (:func:`init_app`).
    :raise 503: as :func:`shop_common.revocation.revoked`.
    """
    if method in jwt_config.exempt_methods:
        return None
    authorization = headers.get(jwt_config.header_name, "")
    tokens: VerifiedTokens = current_app.extensions["verified_tokens"]
    token = tokens.get(authorization) if authorization else None
    if token is None:
        token = _verified_bearer(authorization, optional)
        if token is None:
            return None
        tokens.keep(authorization, token)
    if check_revocation and revocation.revoked(token.claims, method, path):
        raise _token_error(REVOKED_TOKEN)
    return token.caller


def _verified_bearer(authorization: str, optional: bool) -> VerifiedToken | None:
    """The token of an ``Authorization`` header verified in full, as :func:`bearer_caller` says."""
    header = authorization.strip().strip(",")
    if not header:
        if optional:
            return None
        raise _token_error(NO_TOKEN)
    # flask-jwt-extended's reading of the header: comma-separated values, one of them "Bearer <token>".
    values = [value for value in re.split(r",\s*", header) if value and value.split()[0] == jwt_config.header_type]
    if len(values) != 1:
        raise _token_error(NO_TOKEN)
    parts = values[0].split()
    if len(parts) != 2:
        raise _token_error(INVALID_TOKEN)
    try:
        claims = decode_token(parts[1])
        verify_token_type(claims, refresh=False)
    except ExpiredSignatureError as error:
        raise _token_error(EXPIRED_TOKEN) from error
    except (NoAuthorizationError, CSRFError) as error:
        raise _token_error(NO_TOKEN) from error
    except (JWTExtendedException, PyJWTError) as error:
        raise _token_error(INVALID_TOKEN) from error
    # The header is kept for flask-jwt-extended's blocklist hook, which reads only the claims here.
    return VerifiedToken({}, claims, _caller_from_claims(claims))


def _token_error(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})


def auth_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Route decorator: a valid token, and when ``roles`` are named, one of them.

    :raise 401: no valid token.
    :raise 403: the token's role is not among ``roles``.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            caller = identify_caller()
            if roles and caller.role not in roles:
                raise ApiError(403, "You are not allowed to do this.")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def require_owner_or_admin(owner_user_id: int) -> None:
    """:raise 403: the caller is neither ``owner_user_id``, an admin nor a service."""
    if not current_caller().may_act_for(owner_user_id):
        raise ApiError(403, "You may only access your own resources.")
