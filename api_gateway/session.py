"""The browser's login, as a back end for the storefront (README, "The storefront's tokens").

A page keeps its access token in memory only; the refresh token never reaches a script. These
three routes wrap the user service's login, refresh and logout and keep the refresh token in a
cookie no script can read (HttpOnly, SameSite=Strict, sent to ``/api/session`` only):

- ``POST /api/session`` ``{username, password}``: the user service's login answer less its
  refresh token, which goes into the cookie; and a CSRF cookie the page can read.
- ``POST /api/session/refresh``: the next access token of that login, the cookie rotated.
- ``DELETE /api/session``: ends the login (its refresh and access tokens) and clears both cookies.

CSRF: refresh and logout act on a cookie, so they need the ``X-CSRF-Token`` header equal to the
CSRF cookie (double submit: another site can neither read the cookie nor set the header), and an
``Origin``, when the browser sends one, that is this gateway's own. Login needs no cookie.
"""

import hmac
import json
import secrets

from flask import Blueprint, Response, jsonify, request
from flask_limiter.util import get_remote_address

from shop_common.errors import ApiError
from shop_common.http_client import service_client

from .rate_limits import limiter, login_limit

session = Blueprint("session", __name__, url_prefix="/api/session")

REFRESH_COOKIE = "shop_refresh"
CSRF_COOKIE = "shop_csrf"
CSRF_HEADER = "X-CSRF-Token"
# The user service's headers a login or refresh needs: the body's type, and who is asking (kept with the login).
PASSED_HEADERS = ("Content-Type", "User-Agent", "X-Forwarded-For")


@session.post("")
@limiter.limit(login_limit, key_func=get_remote_address)
def log_in():
    """Log in with a username and password: the access token in the answer, the refresh token in a cookie.

    :raise 400, 401, 415: as ``POST /api/users/login`` answers them (passed on unchanged).
    """
    headers = {name: request.headers[name] for name in PASSED_HEADERS if name in request.headers}
    answer = service_client("user").forward("POST", "/api/users/login", request.get_data(), headers)
    if answer.status != 200:
        return _passed_on(answer)
    return _with_cookies(json.loads(answer.data))


@session.post("/refresh")
def refresh():
    """The next access token of the cookie's login; the refresh cookie is replaced by the next one.

    :raise 401: no login cookie, or the user service refused it (the cookies are cleared).
    :raise 403: the CSRF check failed.
    """
    refresh_token = _checked_refresh_cookie()
    answer = _user_service_refresh(refresh_token)
    if answer.status != 200:
        return _cleared(_passed_on(answer))
    return _with_cookies(json.loads(answer.data))


@session.delete("")
def log_out():
    """End the cookie's login (all its tokens, at the user service) and clear the cookies.

    A login the user service no longer knows is ended already: that is a logout too.

    :raise 403: the CSRF check failed.
    """
    refresh_token = _checked_refresh_cookie(required=False)
    if refresh_token:
        answer = _user_service_refresh(refresh_token)
        if answer.status == 200:
            access_token = json.loads(answer.data)["access_token"]
            ended = service_client("user").request(
                "POST", "/api/users/logout", headers={"Authorization": f"Bearer {access_token}"}, signed=False
            )
            if ended.status != 200:
                return _passed_on(ended)
    return _cleared(jsonify(message="Logged out"))


def _user_service_refresh(refresh_token):
    return service_client("user").request(
        "POST", "/api/users/refresh", json={"refreshToken": refresh_token}, signed=False
    )


def _checked_refresh_cookie(required=True):
    """The refresh cookie of a request that passed the CSRF check.

    :raise 401: no refresh cookie (when ``required``).
    :raise 403: the ``X-CSRF-Token`` header is not the CSRF cookie, or another origin sent the request.
    """
    origin = request.headers.get("Origin")
    if origin is not None and origin != request.host_url.rstrip("/"):
        raise ApiError(403, "A request from another origin cannot use this login.", code="csrf_failed")
    expected = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise ApiError(403, f"The {CSRF_HEADER} header must repeat the {CSRF_COOKIE} cookie.", code="csrf_failed")
    refresh_token = request.cookies.get(REFRESH_COOKIE)
    if required and not refresh_token:
        raise ApiError(401, "There is no login to refresh: log in.", code="not_logged_in")
    return refresh_token


def _with_cookies(pair):
    """The answer to the page: the token pair less the refresh token, which goes into the cookie."""
    refresh_token = pair.pop("refresh_token")
    max_age = pair.pop("refresh_expires_in")
    response = jsonify(pair)
    secure = request.is_secure
    response.set_cookie(
        REFRESH_COOKIE,
        refresh_token,
        max_age=max_age,
        path=session.url_prefix,
        secure=secure,
        httponly=True,
        samesite="Strict",
    )
    csrf_token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    response.set_cookie(CSRF_COOKIE, csrf_token, max_age=max_age, path="/", secure=secure, samesite="Strict")
    return response


def _cleared(response):
    response.delete_cookie(REFRESH_COOKIE, path=session.url_prefix, httponly=True, samesite="Strict")
    response.delete_cookie(CSRF_COOKIE, path="/", samesite="Strict")
    return response


def _passed_on(answer):
    """The user service's answer as it came (an error in the project's shape)."""
    return Response(answer.data, answer.status, content_type=answer.headers.get("Content-Type", "application/json"))
