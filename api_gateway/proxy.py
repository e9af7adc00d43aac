"""Forwarding of ``/api/<prefix>/...`` to the service that owns the route prefix, and the token check.

The request goes on as it came (method, path re-encoded, query string, body bytes,
headers less hop-by-hop ones) with ``X-Forwarded-For`` appended and the request
id set, over pooled keep-alive connections; the service's status, headers and
body come back unchanged, never decoded or re-encoded. Protected routes need a
valid token here, before any service is called (README, API); the service checks it
again and enforces ownership.
"""

from urllib.parse import quote

from flask import Blueprint, Response, g, request
from flask_jwt_extended.exceptions import JWTExtendedException
from flask_limiter.util import get_remote_address
from jwt import PyJWTError
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from shop_common import revocation
from shop_common.auth import identify_caller
from shop_common.errors import ApiError
from shop_common.http_client import build_client, service_client
from shop_common.observability import encoded_path

from .rate_limits import limiter, login_limit

forwarding = Blueprint("forwarding", __name__)

SERVICE_OF_PREFIX = {
    "users": "user",
    "customers": "customer",
    "products": "product",
    "categories": "product",
    "transactions": "transaction",
    # The cart and checkout live in the transaction service, beside the orders they become.
    "cart": "transaction",
    "checkout": "transaction",
    "payments": "payment",
}
# Families only an admin may reach: refused here (403) before any service is called; the service checks again.
ADMIN_PREFIXES = frozenset({"payments"})
FORWARDED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# Open to anyone besides login and register (which have their own view): reading the catalog.
PUBLIC_READS = frozenset({("GET", "products"), ("HEAD", "products"), ("GET", "categories"), ("HEAD", "categories")})
# Login, register and trading a refresh token for a new pair (the refresh token is the credential,
# in the body), by any method: the user service answers POST, and any other method with its own
# 405 and Allow, which a token check here would hide behind a 401.
PUBLIC_PATHS = frozenset({("users", "login"), ("users", "register"), ("users", "refresh")})
# A path segment the HTTP client would resolve, reaching another of the service's routes.
DOT_SEGMENTS = frozenset({".", ".."})

# The query goes on as sent; only bytes that may not stand in a URL (space, non-ASCII) are %-encoded.
QUERY_SAFE = "/?:@!$&'()*+,;=%[]"

# RFC 9110 §7.6.1 hop-by-hop headers (and the old Proxy-Connection)...
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# ...and those the HTTP client sets itself: the target's Host and the body's length on the
# way in; on the way back the body's length, which the response sets from the bytes (they
# come as the service sent them, Content-Encoding and all), and the service's Server header
# (the gateway's answers name no software).
NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length"}
NOT_RETURNED = HOP_BY_HOP | {"content-length", "server"}
# Headers of a response whose value is a URL.
URL_HEADERS = frozenset({"location", "content-location"})


def init_app(app):
    """Routes, the token check and one pooled client per service, made once per process.

    Call before :func:`rate_limits.init_app`: before-request hooks run in the
    order they were added, and the limiter counts per caller, found by the token check.
    """
    config = app.config
    # The gateway's one client per service (shop_common.http_client.service_client finds them),
    # waiting GATEWAY_TIMEOUT for the services' responses.
    app.extensions["service_clients"] = {
        service: build_client(config, service, timeout_setting="GATEWAY_TIMEOUT")
        for service in SERVICE_OF_PREFIX.values()
    }
    app.register_blueprint(forwarding)
    app.before_request(check_token)


def check_token():
    """Find the caller of a forwarded request, before the limiter counts it.

    :raise 401: a protected route without a valid token (no service is called),
        or a service's token on any route: those are for calls between services only.
    :raise 403: an admin-only family (:data:`ADMIN_PREFIXES`) asked for by someone else.
    """
    if request.blueprint != forwarding.name:
        return
    public = is_public()
    if not public:
        caller = identify_caller()
    else:
        # Here the caller is found only to be counted by the rate limit: whether their token
        # was revoked changes nothing, so the revocation store is not asked (docs/sessions.md).
        revocation.skip_check()
        try:
            caller = identify_caller(optional=True)
        except (JWTExtendedException, PyJWTError, ApiError):
            # The route is open to anyone: a bad token is not the gateway's to refuse (the
            # service judges it where it matters, as register does for roles), just no caller.
            g.caller = None
            return
    if caller is not None and caller.is_service:
        g.caller = None
        raise ApiError(401, "A service's token is not accepted from outside.", headers={"WWW-Authenticate": "Bearer"})
    if not public and request.view_args["prefix"] in ADMIN_PREFIXES and not caller.is_admin:
        raise ApiError(403, "Only an admin may do this.")


def is_public():
    """Login, register, refresh and reading the catalog are open to anyone (docs/api.md); so is
    ``OPTIONS``, which tells the methods of a route and reaches no data."""
    return (
        request.endpoint == "forwarding.login_or_register"
        or request.method == "OPTIONS"
        or (request.method, request.view_args["prefix"]) in PUBLIC_READS
        or (request.view_args["prefix"], request.view_args["rest"].strip("/")) in PUBLIC_PATHS
    )


# No OPTIONS of Flask's own here: it would list every method of forward's rule for the same path.
# OPTIONS goes on to the user service, which tells the methods it serves.
@forwarding.post("/api/users/login", provide_automatic_options=False)
@forwarding.post("/api/users/register", provide_automatic_options=False)
@limiter.limit(login_limit, key_func=get_remote_address)
def login_or_register():
    """Login and register: open to anyone, under the strict per-address limit instead of the default."""
    return relay("user")


_PREFIX = f"<any({', '.join(SERVICE_OF_PREFIX)}):prefix>"


@forwarding.route(f"/api/{_PREFIX}", defaults={"rest": ""}, methods=FORWARDED_METHODS)
@forwarding.route(f"/api/{_PREFIX}/<path:rest>", methods=FORWARDED_METHODS)
def forward(prefix, rest):
    """Every other route of the families.

    :raise 404: a ``.`` or ``..`` path segment (an unknown prefix is a 404 of the router).
    """
    if any(segment in DOT_SEGMENTS for segment in rest.split("/")):
        raise NotFound()
    return relay(SERVICE_OF_PREFIX[prefix])


def relay(service):
    """Pass the current request to ``service`` and its response back as it came.

    :raise 413: a body over 1 MiB (see :func:`request_body`).
    :raise 503, 504: the service is down or did not respond in time.
    """
    headers = dict(end_to_end(request.headers, NOT_FORWARDED))
    forwarded_for = request.headers.get("X-Forwarded-For")
    client = request.remote_addr
    headers["X-Forwarded-For"] = f"{forwarded_for}, {client}" if forwarded_for else client
    target = encoded_path()
    if request.query_string:
        target += "?" + quote(request.query_string, safe=QUERY_SAFE)
    upstream = service_client(service)
    relayed = upstream.forward(request.method, target, request_body(), headers)
    response = Response(
        relayed.data, relayed.status, outward(end_to_end(relayed.headers, NOT_RETURNED), upstream.base_url)
    )
    if "Content-Type" not in relayed.headers:  # a 204 has none: not Flask's default text/html either
        response.headers.remove("Content-Type")
    if request.method == "HEAD" and "Content-Length" in relayed.headers:
        # No body came to measure: the length is the one GET would send (RFC 9110 §9.3.2), as the service said.
        response.headers["Content-Length"] = relayed.headers["Content-Length"]
    return response


def outward(headers, service_url):
    """``headers`` with any URL that starts with the service's internal address made relative
    to the gateway (same path), so no response points a client past the gateway."""
    kept = []
    for name, value in headers:
        if name.lower() in URL_HEADERS and value.startswith(service_url):
            value = value[len(service_url) :] or "/"
        kept.append((name, value))
    return kept


def request_body():
    """The request's body bytes, never more than ``MAX_CONTENT_LENGTH`` of them read.

    :raise 413: a Content-Length over the limit, refused by Werkzeug before any
        byte is read; or a body without one (chunked) that goes on past the
        limit, which Werkzeug reads up to the limit and would return cut short.
    """
    body = request.get_data()
    if len(body) == request.max_content_length and request.content_length is None and request.input_stream.read(1):
        raise RequestEntityTooLarge()
    return body


def end_to_end(headers, dropped):
    """``(name, value)`` pairs of ``headers`` less ``dropped`` and any named by their ``Connection`` header.

    Pairs, not a dict: a header sent twice (``Set-Cookie``) comes back twice.
    """
    connection = headers.get("Connection")
    if connection:
        dropped = dropped | {name.strip().lower() for name in connection.split(",")}
    return [(name, value) for name, value in headers.items() if name.lower() not in dropped]
