"""What both gunicorn workers share: the HTTP server's own refusals in the error shape, and draining on SIGTERM.

A request the server refuses before the app sees it (a request line or header
too long, too many headers, a malformed line, ambiguous framing) was answered by
both servers with a page of their own: pywsgi's empty 400 and 414, gunicorn's HTML.
Both workers (shop_common/gunicorn_worker.py under gevent, shop_common/thread_worker.py
under threads) answer it as every error of the API, ``{"error", "message"}`` in JSON,
with the status the server chose (400, 414, 431, ...). Nothing of gevent is imported
here: the thread worker's processes never load it.
"""

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from gunicorn.http import errors as http_errors

from . import lifecycle
from .errors import ERROR_CODES
from .http_framing import CODING_RULE, FramingError, HeadTooLarge

# Statuses gunicorn gives a refused request; every other parse error is a 400, an unknown transfer
# coding too (RFC 9112 §6.3: a request whose last coding is not chunked has no length to read).
_GUNICORN_STATUSES = {
    http_errors.LimitRequestLine: 414,
    http_errors.LimitRequestHeaders: 431,
    http_errors.ExpectationFailed: 417,
    http_errors.ForbiddenProxyRequest: 403,
}
# Faults of the app or the configuration, not of the request: gunicorn's own 500 stays.
_NOT_THE_CLIENTS = (
    http_errors.ConfigurationProblem,
    http_errors.InvalidResponseHeader,
    http_errors.InvalidResponseHeaderName,
)
_MESSAGES = {
    400: "The request is malformed.",
    403: "The request is forbidden.",
    414: "The request line (method, path and query) is too long.",
    417: "The Expect header cannot be met.",
    431: "The request's header fields are too many or too long.",
    500: "An unexpected error occurred.",
}


def error_json(status: int, message: str | None = None) -> bytes:
    """The JSON error body the API answers ``status`` with (``message``, or the status's own), as bytes."""
    code = ERROR_CODES.get(status) or HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    body = {"error": code, "message": message or _MESSAGES[status]}
    return json.dumps(body, separators=(",", ":")).encode()


def refusal(status: int, message: str | None = None) -> bytes:
    """A whole HTTP/1.1 answer of ``status`` in the error shape, closing the connection."""
    body = error_json(status, message)
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


def refused_status(error: BaseException) -> int | None:
    """The status a request refused by its head is answered with, or None for a fault that is not the client's."""
    if isinstance(error, FramingError):
        return 400
    if isinstance(error, HeadTooLarge):
        return 431
    if not isinstance(error, http_errors.ParseException) or isinstance(error, _NOT_THE_CLIENTS):
        return None
    return next((status for kind, status in _GUNICORN_STATUSES.items() if isinstance(error, kind)), 400)


def framing_message(error: BaseException) -> str | None:
    """What the answer says: why the framing was refused, or (None) the status's own sentence."""
    if isinstance(error, http_errors.UnsupportedTransferCoding):
        return CODING_RULE
    return str(error) if isinstance(error, FramingError) else None


def drain_then_stop(worker: Any, stop: Callable[[], None], later: Callable[[float, Callable[[], None]], Any]) -> None:
    """SIGTERM: fail readiness at once, serve on for ``SHUTDOWN_DRAIN_SECONDS``, then ``stop`` gracefully."""
    if lifecycle.is_draining():  # the master and the process group may both send it
        return
    lifecycle.begin_draining()
    seconds = getattr(worker.wsgi, "config", {}).get("SHUTDOWN_DRAIN_SECONDS", 0)
    worker.log.info("draining for %s s before stopping (pid:%s)", seconds, worker.pid)
    later(seconds, stop)
