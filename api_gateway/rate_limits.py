"""Rate limits at the gateway, with flask-limiter.

- Every forwarded route shares ``RATELIMIT_DEFAULT`` per client: the user of a
  valid token (the token check, which runs first, put them on ``g.caller``),
  else the client's address.
- ``POST /api/users/login`` and ``/register`` instead share ``RATELIMIT_LOGIN``
  per address: a password guesser has no token to be counted by.
- ``/``, ``/health`` and ``/metrics`` are not limited. A request the token check refuses with 401 is
  not counted: it costs one signature check and reaches no service.

Answers carry ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset``; an excess is
the usual JSON error, 429 ``rate_limited``, with ``Retry-After``, counted in
``shop_rate_limited_total{limit}`` (``default`` or ``login``).

Forwarded requests are counted below Flask (:class:`ForwardedLimits`, called by
api_gateway/forwarding_wsgi.py) with the limiter's own strategy, storage and keys; flask-limiter's
hooks count the rest, and every request while it counts on its in-memory fallback.

Worker model: a limit holds for the gateway as a whole, so every process must
count in the same place. ``memory://`` counts inside one process, so with it the
gateway runs one gunicorn worker (gevent: it mostly waits on services) and
refuses to start with more. More workers, or more gateways, share counters in
Redis (``RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379``). When Redis cannot be
reached each process counts in memory until it is back, rather than failing
requests.
"""

import time
from dataclasses import dataclass

from flask import Flask, Response, current_app, g, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from prometheus_client import Counter

from shop_common import metrics
from shop_common.app import probes
from shop_common.auth import Caller
from shop_common.errors import error_response

RATE_LIMITED = Counter("shop_rate_limited_total", "Requests refused with 429, by the limit they went over.", ["limit"])

# A Redis that stops responding must not hold requests at the gateway.
_REDIS_TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


def client_key():
    """Whom the default limit counts: ``user:<id>`` for a valid user token, else the address."""
    return client_key_of(g.get("caller"), get_remote_address())


def client_key_of(caller: Caller | None, address: str) -> str:
    if caller is not None and caller.user_id is not None:
        return f"user:{caller.user_id}"
    return address


# The limits are read from the app's config on each request rather than once by
# the extension, which would keep the first app's for every later one (tests make several).
def default_limit():
    return current_app.config["RATELIMIT_DEFAULT"]


def login_limit():
    return current_app.config["RATELIMIT_LOGIN"]


limiter = Limiter(
    client_key,
    default_limits=[default_limit],
    headers_enabled=True,
    storage_options=_REDIS_TIMEOUTS,
    in_memory_fallback_enabled=True,
)


def init_app(app):
    """Count requests of ``app`` per the settings; call after the token check is registered.

    :raise RuntimeError: limits on, ``memory://`` counters and more than one worker,
        which would multiply every limit by the number of workers.
    """
    config = app.config
    if (
        config["RATELIMIT_ENABLED"]
        and config["GUNICORN_WORKERS"] > 1
        and config["RATELIMIT_STORAGE_URI"].startswith("memory://")
    ):
        raise RuntimeError(
            f"GUNICORN_WORKERS={config['GUNICORN_WORKERS']} with RATELIMIT_STORAGE_URI=memory:// "
            "would give each gateway worker its own rate-limit counters: set GUNICORN_WORKERS=1, "
            "or RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379 (api_gateway/.env)."
        )
    # After-request hooks run last-added first, so this one runs after the limiter's,
    # which puts Retry-After on every counted response: a client would wait that long
    # before retrying a 503 too. It belongs on a 429 only.
    app.after_request(keep_retry_after_for_429)
    limiter.init_app(app)
    limiter.exempt(metrics.blueprint)
    limiter.exempt(probes)
    app.register_error_handler(RateLimitExceeded, respond_rate_limited)


def keep_retry_after_for_429(response):
    if response.status_code != 429:
        response.headers.pop("Retry-After", None)
    return response


def respond_rate_limited(error):
    """429 in the shape of every error; the limiter adds ``Retry-After`` and ``X-RateLimit-*`` after."""
    return rate_limited(error.limit.limit, "login" if request.endpoint == "forwarding.login_or_register" else "default")


def rate_limited(limit: RateLimitItem, name: str) -> Response:
    """The 429 of ``limit`` (``name``: ``default`` or ``login``), counted; needs an app context, not a request's."""
    RATE_LIMITED.labels(name).inc()
    return error_response(
        429,
        f"Too many requests: the limit is {limit}. Try again after the number of seconds in Retry-After.",
    )


@dataclass(frozen=True)
class Count:
    """A request counted by :meth:`ForwardedLimits.count`: its limit, whether it went over, the window after it."""

    limit: RateLimitItem
    name: str
    exceeded: bool
    reset_at: int
    remaining: int

    def add_headers(self, response: Response) -> None:
        """The headers flask-limiter's after-request hook adds (then :func:`keep_retry_after_for_429` runs)."""
        response.headers.add("X-RateLimit-Limit", str(self.limit.amount))
        response.headers.add("X-RateLimit-Remaining", str(self.remaining))
        response.headers.add("X-RateLimit-Reset", str(self.reset_at))
        response.headers["Retry-After"] = str(int(self.reset_at - time.time()))


class ForwardedLimits:
    """The limits of forwarded routes counted without a request context, for the forwarding below
    Flask (api_gateway/forwarding_wsgi.py): the limiter's own strategy and storage, its keys
    (``LIMITER/<prefix>/<client>/<endpoint>/<limit>``), so both paths count in the same place.

    Only while the limiter counts in its storage (not its in-memory fallback, which flask-limiter
    enters and leaves in its hooks) and each limit is one rate: otherwise :meth:`usable` is False
    and Flask takes the request.
    """

    def __init__(self, app: Flask) -> None:
        config = app.config
        self.enabled = config["RATELIMIT_ENABLED"]
        self.key_prefix = config["RATELIMIT_KEY_PREFIX"]
        self.default = parse_many(config["RATELIMIT_DEFAULT"])
        self.login = parse_many(config["RATELIMIT_LOGIN"])
        self.strategy = limiter.limiter if self.enabled else None

    def usable(self) -> bool:
        if not self.enabled:
            return True
        return len(self.default) == len(self.login) == 1 and limiter.limiter is self.strategy

    def count(self, login: bool, caller: Caller | None, address: str | None) -> Count | None:
        """Count one forwarded request (login and register per address, the rest per client); None when limits are off.

        :raise Exception: whatever the storage raised (Flask then takes the request, and the fallback).
        """
        if self.strategy is None:
            return None
        address = address or "127.0.0.1"  # flask-limiter's get_remote_address
        if login:
            limit, name, key, scope = self.login[0], "login", address, "forwarding.login_or_register"
        else:
            limit, name, key, scope = self.default[0], "default", client_key_of(caller, address), "forwarding.forward"
        arguments = [self.key_prefix, key, scope] if self.key_prefix else [key, scope]
        exceeded = not self.strategy.hit(limit, *arguments)
        window = self.strategy.get_window_stats(limit, *arguments)
        return Count(limit, name, exceeded, int(window.reset_time + 1), window.remaining)
