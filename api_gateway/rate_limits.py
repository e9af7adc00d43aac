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

Worker model: a limit holds for the gateway as a whole, so every process must
count in the same place. ``memory://`` counts inside one process, so with it the
gateway runs one gunicorn worker (gevent: it mostly waits on services) and
refuses to start with more. More workers, or more gateways, share counters in
Redis (``RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379``). When Redis cannot be
reached each process counts in memory until it is back, rather than failing
requests.
"""

from flask import current_app, g, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from prometheus_client import Counter

from shop_common import metrics
from shop_common.app import probes
from shop_common.errors import error_response

RATE_LIMITED = Counter("shop_rate_limited_total", "Requests refused with 429, by the limit they went over.", ["limit"])

# A Redis that stops responding must not hold requests at the gateway.
_REDIS_TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


def client_key():
    """Whom the default limit counts: ``user:<id>`` for a valid user token, else the address."""
    caller = g.get("caller")
    if caller is not None and caller.user_id is not None:
        return f"user:{caller.user_id}"
    return get_remote_address()


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
    RATE_LIMITED.labels("login" if request.endpoint == "forwarding.login_or_register" else "default").inc()
    return error_response(
        429,
        f"Too many requests: the limit is {error.limit.limit}. Try again after the number of seconds in Retry-After.",
    )
