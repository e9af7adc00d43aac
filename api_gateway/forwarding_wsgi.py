"""Forwarded routes answered below Flask: a plain WSGI callable in front of the gateway's Flask app.

Flask's request context, routing and response hooks were about a fifth of the gateway's CPU
(docs/performance.md, Forwarding below Flask), and a forwarded request needs none of them. This
callable answers ``/api/<prefix>/...`` itself, inside an app context only (``current_app`` and
``g``, which the token check, the JSON errors and the log lines read), with the functions the
Flask path calls too: the token check and relay of :mod:`api_gateway.proxy`, the request id and
access line of :mod:`shop_common.observability`, the histogram of :mod:`shop_common.metrics` and
the errors of :mod:`shop_common.errors`. So a forwarded request gets the same answer, headers,
metrics and access line either way.

Rate limits are counted here too, by :class:`api_gateway.rate_limits.ForwardedLimits`: the
limiter's own strategy and storage and its keys, the same ``X-RateLimit-*`` headers, 429 and
``shop_rate_limited_total``, so both paths share every counter.

Everything else goes to Flask untouched: the gateway's own routes (``/``, ``/health``,
``/metrics``, the docs, the storefront, the session), a method not forwarded, and any path
the router might not give to forwarding (one with a control character in it), which Flask
answers as before. Flask also takes a forwarded request:

- while the limiter counts in memory because its storage (Redis) failed, or when a request's
  count fails: flask-limiter's hooks switch to the fallback and back;
- when a limit setting names more than one rate (``300 per minute; 20 per second``);
- always when tracing is on (``OTEL_EXPORTER_OTLP_*ENDPOINT`` set): its Flask instrumentation
  makes each request's span and continues the client's trace.
"""

import re
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask, g
from werkzeug.wrappers import Request, Response

from shop_common import tracing
from shop_common.errors import response_for_error
from shop_common.lifecycle import close_connections_while_draining
from shop_common.metrics import observe_request, rule_label
from shop_common.observability import encoded_path, finish, request_id_of
from shop_common.paths import NormalisedPaths

from .proxy import (
    FORWARDED_METHODS,
    FORWARDED_RULE,
    LOGIN_PATH,
    PREFIX_RULE,
    REGISTER_PATH,
    SERVICE_OF_PREFIX,
    relay,
    service_for,
    token_check,
)
from .rate_limits import Count, ForwardedLimits, keep_retry_after_for_429, rate_limited

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# The paths the router gives to ``forwarding.forward`` (or login and register), less any with a
# control character: Werkzeug's ``<path:rest>`` stops at a new line, and such paths are rare
# enough to leave every doubt to Flask.
FORWARDED_PATH = re.compile(f"/api/({'|'.join(SERVICE_OF_PREFIX)})(?:/([^/\x00-\x1f\x7f][^\x00-\x1f\x7f]*))?")
_LOGIN_PATHS = frozenset({LOGIN_PATH, REGISTER_PATH})
_FORWARDED_METHODS = frozenset(FORWARDED_METHODS)


def init_app(app: Flask) -> None:
    """Put the forwarding below Flask in front of ``app`` (after the limiter's ``init_app``), unless tracing is on."""
    if tracing.enabled():
        return
    # Outermost, so the paths it sees are normalised as Flask's router sees them.
    app.wsgi_app = NormalisedPaths(ForwardingWSGI(app, app.wsgi_app))  # type: ignore[method-assign]  # Flask's way to add WSGI middleware


class ForwardingWSGI:
    """WSGI middleware answering forwarded routes itself and handing the rest to ``flask_wsgi``."""

    def __init__(self, app: Flask, flask_wsgi: "WSGIApplication") -> None:
        self.app = app
        self.flask_wsgi = flask_wsgi
        self.max_content_length = app.config["MAX_CONTENT_LENGTH"]
        self.metrics_enabled = app.config["METRICS_ENABLED"]
        self.limits = ForwardedLimits(app)

    def __call__(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] in _FORWARDED_METHODS and environ.get("PATH_INFO", "").startswith("/api/"):
            incoming = Request(environ)
            match = FORWARDED_PATH.fullmatch(incoming.path)
            if match is not None and self.limits.usable():
                incoming.max_content_length = self.max_content_length
                with self.app.app_context():
                    response = self.answer(incoming, match[1], match[2] or "")
                if response is not None:
                    return response(environ, start_response)
        return self.flask_wsgi(environ, start_response)

    def answer(self, incoming: Request, prefix: str, rest: str) -> Response | None:
        """What the Flask path's hooks and views do for a forwarded request, in the same order;
        None when the limiter's storage failed (nothing was sent on: Flask takes the request)."""
        started_at = time.perf_counter()
        g.request_id = request_id_of(incoming.headers)
        login = incoming.method == "POST" and incoming.path in _LOGIN_PATHS
        count = None
        try:
            g.caller, refusal = token_check(incoming, prefix, rest, login)
            if refusal is not None:
                raise refusal
            try:
                count = self.limits.count(login, g.caller, incoming.remote_addr)
            except Exception:  # the storage's, whatever its client raises: flask-limiter's fallback handles it
                return None
            if count is not None and count.exceeded:
                response = rate_limited(count.limit, count.name)
            else:
                response = relay("user" if login else service_for(prefix, rest), incoming)
        except Exception as error:  # every error is answered, as Flask's handler of Exception does
            response = response_for_error(error)
        route = incoming.path if login else rule_label(FORWARDED_RULE if rest else PREFIX_RULE, {"prefix": prefix})
        self.after_request(incoming, response, count, route, started_at)
        return response

    def after_request(
        self, incoming: Request, response: Response, count: Count | None, route: str, started_at: float
    ) -> None:
        """The Flask path's after-request hooks, in their order: the limiter's headers, no ``Retry-After``
        but on a 429, ``Connection: close`` while draining, the request id and access line, the histogram."""
        if count is not None:
            count.add_headers(response)
        keep_retry_after_for_429(response)
        close_connections_while_draining(response)
        finish(response, incoming.method, encoded_path(incoming.path), started_at, g.request_id, g.get("caller"))
        if self.metrics_enabled:
            observe_request(route, incoming.method, response.status_code, started_at)
