"""The gunicorn workers of the services, answering the HTTP server's own refusals in the error shape.

``--worker-class shop_common.gunicorn_worker.PyWSGIWorker`` (the I/O-bound
services) and ``shop_common.gunicorn_worker.ThreadWorker`` (the user service).

gevent's pywsgi reads and writes a request with less Python than gunicorn's
``gevent`` worker (docs/performance.md), but it keeps a connection open for as
long as the client likes, where gunicorn's worker closes it after ``--keep-alive``
seconds. :class:`PyWSGIWorker` restores that: every connection's socket times out
after ``--keep-alive`` seconds without a byte read or written, which pywsgi treats
as the client gone, so an idle or stalled client cannot hold a connection for ever.

A request the server refuses before the app sees it (a request line or header
too long, too many headers, a malformed line) was answered by both servers with
a page of their own: pywsgi's empty 400 and 414, gunicorn's HTML. Both workers
here answer it as every error of the API, ``{"error", "message"}`` in JSON, with
the status the server chose (400, 414, 431, ...).

Both drain on SIGTERM before gunicorn's graceful stop: see shop_common/lifecycle.py.

The app is built in gunicorn's master (``--preload``): :meth:`PyWSGIWorker.setup`
patches that master with gevent first.
"""

import http.client
import json
import socket
import threading
from collections.abc import Callable
from functools import partial
from http import HTTPStatus
from types import FrameType
from typing import Any

import gevent
import gevent.socket
from gevent import monkey
from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIHandler
from gunicorn.workers.gthread import ThreadWorker as GunicornThreadWorker

from . import lifecycle
from .errors import ERROR_CODES

# Statuses gunicorn gives a refused request; every other parse error is a 400.
_GUNICORN_STATUSES = {
    http_errors.LimitRequestLine: 414,
    http_errors.LimitRequestHeaders: 431,
    http_errors.ExpectationFailed: 417,
    http_errors.UnsupportedTransferCoding: 501,
    http_errors.ForbiddenProxyRequest: 403,
}
# Faults of the app or the configuration, not of the request: gunicorn's own 500 stays.
_NOT_THE_CLIENTS = (
    http_errors.ConfigurationProblem,
    http_errors.InvalidResponseHeader,
    http_errors.InvalidResponseHeaderName,
)
# A body up to this size is copied behind the response's head to go in the same send.
SENT_WITH_THE_HEAD = 64 * 1024
_MESSAGES = {
    400: "The request is malformed.",
    403: "The request is forbidden.",
    414: "The request line (method, path and query) is too long.",
    417: "The Expect header cannot be met.",
    431: "The request's header fields are too many or too long.",
    500: "An unexpected error occurred.",
    501: "The request's transfer coding is not supported.",
}


def error_json(status: int) -> bytes:
    """The JSON error body the API answers ``status`` with, as bytes."""
    code = ERROR_CODES.get(status) or HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    return json.dumps({"error": code, "message": _MESSAGES[status]}, separators=(",", ":")).encode()


def refusal(status: int) -> bytes:
    """A whole HTTP/1.1 answer of ``status`` in the error shape, closing the connection."""
    body = error_json(status)
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class IdleLimitedHandler(PyWSGIHandler):
    """pywsgi's handler of one connection: closed after ``idle_seconds`` of silence, refusals in JSON."""

    idle_seconds: float | None = None  # gunicorn's --keep-alive, set by the worker as it starts

    def handle(self) -> None:
        self.socket.settimeout(self.idle_seconds)
        super().handle()

    # The response's head, held by _sendall until the first body bytes can go with it.
    _held_head: bytes | None = None

    def _write_with_headers(self, data: bytes) -> None:
        """The head and the first body bytes in one send, where pywsgi makes two: every response
        then costs one system call less, and the reader one wake-up less."""
        self._held_head = b""
        super()._write_with_headers(data)
        head, self._held_head = self._held_head, None
        if head:  # no body bytes followed
            super()._sendall(head)

    def _sendall(self, data: bytes) -> None:
        head = self._held_head
        if head == b"":  # pywsgi sends the head first: hold it
            self._held_head = bytes(data)
            return
        if head:
            self._held_head = None
            if len(data) <= SENT_WITH_THE_HEAD:
                data = head + data
            else:
                super()._sendall(head)
        super()._sendall(data)

    def log_request(self) -> None:
        """Nothing: the app writes each request's access line (shop_common/observability.py), with the
        request id and user, and a second line per request from the server would cost CPU on every hop."""

    def handle_one_request(self) -> tuple[str, bytes] | bool | None:
        """pywsgi's 414 for a request line over ``MAX_REQUEST_LINE`` is an empty body: JSON instead."""
        result = super().handle_one_request()
        if isinstance(result, tuple) and result[0] == "414":
            return "414", refusal(414)
        return result

    def _handle_client_error(self, ex: Exception) -> tuple[str, bytes]:
        """Too many header lines or one too long (parsed by ``http.client``) are a 431, the rest a 400."""
        too_large = isinstance(ex, http.client.HTTPException) or "Line too long" in str(ex)
        status = 431 if too_large else 400
        self.log_error("Invalid request (from %s): %r", self.client_address, str(ex)[:200])
        return str(status), refusal(status)

    def _send_error_response_if_possible(self, error_code: int) -> None:
        """A body that breaks off mid-way (400) or a server fault (500), answered in the error shape."""
        if self.response_length:
            self.close_connection = True
            return
        body = error_json(error_code)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Connection", "close")]
        try:
            self.start_response(f"{error_code} {HTTPStatus(error_code).phrase}", headers)
            self.write(body)
        except OSError:
            self.close_connection = True


# All of gevent's patches but those for forking and reaping child processes: the
# master forks its workers and reaps them on SIGCHLD its own way, and a worker does neither.
_PATCHES = {"os": False, "signal": False, "subprocess": False}


def drain_then_stop(worker: Any, stop: Callable[[], None], later: Callable[[float, Callable[[], None]], Any]) -> None:
    """SIGTERM: fail readiness at once, serve on for ``SHUTDOWN_DRAIN_SECONDS``, then ``stop`` gracefully."""
    if lifecycle.is_draining():  # the master and the process group may both send it
        return
    lifecycle.begin_draining()
    seconds = getattr(worker.wsgi, "config", {}).get("SHUTDOWN_DRAIN_SECONDS", 0)
    worker.log.info("draining for %s s before stopping (pid:%s)", seconds, worker.pid)
    later(seconds, stop)


def _on_a_thread_later(seconds: float, function: Callable[[], None]) -> None:
    timer = threading.Timer(seconds, function)
    timer.daemon = True
    timer.start()


class PyWSGIWorker(GeventPyWSGIWorker):
    wsgi_handler = IdleLimitedHandler
    sockets: list[Any]  # gunicorn's listeners

    @classmethod
    def setup(cls) -> None:
        """gevent's patches in the master, before it builds the app (``--preload``) that the workers fork from.

        gunicorn's worker patches only in the worker, after the fork: too late for
        the locks, sockets and queues the app's modules made on import in the master.
        gunicorn calls this as it loads the worker class, before the app.
        """
        monkey.patch_all(**_PATCHES)

    def patch(self) -> None:
        """Patched already (inherited from the master): only the listening sockets become gevent's."""
        self.sockets = [
            gevent.socket.socket(listener.FAMILY, socket.SOCK_STREAM, fileno=listener.sock.detach())
            for listener in self.sockets
        ]

    def init_process(self) -> None:
        # One worker per process: the class attribute is this worker's setting.
        IdleLimitedHandler.idle_seconds = self.cfg.keepalive
        super().init_process()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # pywsgi honours the app's ``Connection: close`` (shop_common/lifecycle.py).
        drain_then_stop(self, partial(super().handle_exit, sig, frame), gevent.spawn_later)


class ThreadWorker(GunicornThreadWorker):
    """gunicorn's ``gthread`` worker: draining first, its refusals of malformed or oversized requests in JSON."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # gunicorn writes its own Connection header: without keep-alive it says ``close``.
        self.cfg.set("keepalive", 0)
        drain_then_stop(self, partial(super().handle_exit, sig, frame), _on_a_thread_later)

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        if not isinstance(exc, http_errors.ParseException) or isinstance(exc, _NOT_THE_CLIENTS):
            return super().handle_error(req, client, addr, exc)
        status = next((status for kind, status in _GUNICORN_STATUSES.items() if isinstance(exc, kind)), 400)
        self.log.warning("Invalid request from ip=%s: %r", (addr or ("",))[0], str(exc)[:200])
        try:
            util.write_nonblock(client, refusal(status))
        except Exception:  # the client is gone: nothing to answer
            self.log.debug("Failed to send error message.")
        return None
