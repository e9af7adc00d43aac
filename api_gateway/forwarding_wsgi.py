"""Forwarded routes answered below Flask: a plain WSGI callable in front of the gateway's Flask app.

Flask's request context, routing and response hooks were about a fifth of the gateway's CPU
(docs/performance.md, Forwarding below Flask), and a forwarded request needs none of them. This
callable answers ``/api/<prefix>/...`` itself, inside an app context only (``current_app`` and
``g``, which the token check, the JSON errors and the log lines read), with the functions the
Flask path calls too: the token check and relay of :mod:`api_gateway.proxy`, the request id and
access line of :mod:`shop_common.observability`, the histogram of :mod:`shop_common.metrics` and
the errors of :mod:`shop_common.errors`. So a forwarded request gets the same answer, headers,
metrics and access line either way.

Everything else goes to Flask untouched: the gateway's own routes (``/``, ``/health``,
``/metrics``, the docs, the storefront, the session), a method not forwarded, and any path
the router might not give to forwarding (one with a control character in it), which Flask
answers as before. Flask also keeps every forwarded request when:

- rate limits are on (``RATELIMIT_ENABLED``): flask-limiter counts them, in its hooks;
- tracing is on (``OTEL_EXPORTER_OTLP_*ENDPOINT`` set): its Flask instrumentation makes each
  request's span and continues the client's trace.
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

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# The paths the router gives to ``forwarding.forward`` (or login and register), less any with a
# control character: Werkzeug's ``<path:rest>`` stops at a new line, and such paths are rare
# enough to leave every doubt to Flask.
_FORWARDED_PATH = re.compile(f"/api/({'|'.join(SERVICE_OF_PREFIX)})(?:/([^/\x00-\x1f\x7f][^\x00-\x1f\x7f]*))?")
_LOGIN_PATHS = frozenset({LOGIN_PATH, REGISTER_PATH})
_FORWARDED_METHODS = frozenset(FORWARDED_METHODS)


def init_app(app: Flask) -> None:
    """Put the forwarding below Flask in front of ``app``, unless limits or tracing are on."""
    if app.config["RATELIMIT_ENABLED"] or tracing.enabled():
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

    def __call__(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] in _FORWARDED_METHODS and environ.get("PATH_INFO", "").startswith("/api/"):
            incoming = Request(environ)
            match = _FORWARDED_PATH.fullmatch(incoming.path)
            if match is not None:
                incoming.max_content_length = self.max_content_length
                with self.app.app_context():
                    response = self.answer(incoming, match[1], match[2] or "")
                return response(environ, start_response)
        return self.flask_wsgi(environ, start_response)

    def answer(self, incoming: Request, prefix: str, rest: str) -> Response:
        """What the Flask path's hooks and views do for a forwarded request, in the same order."""
        started_at = time.perf_counter()
        g.request_id = request_id_of(incoming.headers)
        login = incoming.method == "POST" and incoming.path in _LOGIN_PATHS
        try:
            g.caller, refusal = token_check(incoming, prefix, rest, login)
            if refusal is not None:
                raise refusal
            response = relay("user" if login else service_for(prefix, rest), incoming)
        except Exception as error:  # every error is answered, as Flask's handler of Exception does
            response = response_for_error(error)
        close_connections_while_draining(response)
        finish(response, incoming.method, encoded_path(incoming.path), started_at, g.request_id, g.get("caller"))
        if self.metrics_enabled:
            route = incoming.path if login else rule_label(FORWARDED_RULE if rest else PREFIX_RULE, {"prefix": prefix})
            observe_request(route, incoming.method, response.status_code, started_at)
        return response
