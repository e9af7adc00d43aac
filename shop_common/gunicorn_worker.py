"""The gunicorn workers of the services, answering the HTTP server's own refusals in the error shape.

``--worker-class shop_common.gunicorn_worker.PyWSGIWorker`` (the I/O-bound
services) and ``shop_common.gunicorn_worker.ThreadWorker`` (the user service).

gevent's pywsgi reads and writes a request with less Python than gunicorn's
``gevent`` worker (docs/performance.md), but it keeps a connection open for as
long as the client likes, where gunicorn's worker closes it after ``--keep-alive``
seconds. :class:`PyWSGIWorker` restores that: every connection's socket times out
after ``--keep-alive`` seconds without a byte read or written, which pywsgi treats
as the client gone, so an idle or stalled client cannot hold a connection for ever.

Both read a request's head strictly, by one set of rules (shop_common/http_framing.py):
under pywsgi, llhttp reads the head in place of the email package's lenient parser
(:meth:`IdleLimitedHandler.MessageClass`, pywsgi's documented hook for it); under
gthread, gunicorn's parser reads it, and :meth:`ThreadWorker.handle_request` applies
what that parser leaves to the server. An ambiguous head is a 400 and closes the
connection, and ``Connection`` is read as a list of tokens.

A request the server refuses before the app sees it (a request line or header
too long, too many headers, a malformed line, ambiguous framing) was answered by
both servers with a page of their own: pywsgi's empty 400 and 414, gunicorn's HTML.
Both workers here answer it as every error of the API, ``{"error", "message"}`` in
JSON, with the status the server chose (400, 414, 431, ...).

Only the public extension points of gevent and gunicorn are used: no method or
attribute of theirs whose name starts with an underscore is overridden or assigned,
and no module attribute of theirs is set (tests/unit/test_server_extension_points.py);
make server-latest-test runs the server's tests on their newest releases. Under pywsgi,
methods of ``WSGIHandler``, the class its documentation says to subclass:

- ``handle`` (documented: the connection's loop): the socket's idle timeout is set first.
- ``read_request`` (documented to raise ``ValueError`` for a request it refuses): the
  refusal's answer in JSON is kept for ``handle_one_request``.
- ``MessageClass`` (named by ``read_request``'s documentation as what reads the head).
- ``handle_one_request`` (documented to return ``(status, answer)`` for a refused
  request, the whole answer that pywsgi then sends): ours replaces its empty one.
- ``handle_error`` (public, what pywsgi calls on a fault, not documented further): the
  500 goes through WSGI's own ``start_response(..., exc_info)`` and ``write``, which
  raise the error again once a head was sent (PEP 3333); then pywsgi's own handling.
- ``run_application`` (public, what calls the app): the app's fault goes to ``handle_error``
  before pywsgi reads the rest of the body.
- ``log_request`` (public): pywsgi's access line, none here.
- ``start_response`` and ``write`` (WSGI's own two callables, which pywsgi's are): the
  head and the first body bytes leave in one TCP segment, the socket corked between
  the two (Linux's ``TCP_CORK``). pywsgi sends them in two; the one send made of them
  before needed its private ``_write_with_headers`` and ``_sendall`` (the costs of
  each: docs/performance.md, "The server layer on public extension points").

Under gevent's worker, gunicorn's ``setup`` (the worker class's hook before the app is
loaded), ``patch``, ``init_process``, ``handle_exit`` and ``wsgi_handler``; under gthread,
``load_wsgi``, ``handle_request``, ``handle_error`` and ``handle_exit``, and the app it calls.
gunicorn names itself in every answer's Server header, which :class:`NamingNoSoftware`
makes ``shop``.

Both drain on SIGTERM before gunicorn's graceful stop: see shop_common/lifecycle.py.

The app is built in gunicorn's master (``--preload``): :meth:`PyWSGIWorker.setup`
patches that master with gevent first.
"""

import http.client
import json
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from functools import partial
from http import HTTPStatus
from types import FrameType, TracebackType
from typing import Any

import gevent
import gevent.socket
from gevent import monkey
from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIHandler
from gunicorn.workers.gthread import ThreadWorker as GunicornThreadWorker

from . import lifecycle
from .errors import ERROR_CODES
from .http_framing import CODING_RULE, FramingError, HeadTooLarge, check_fields, read_head

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
# pywsgi's limits on a head, as http.client read them for it: a longer line or more fields are a 431.
MAX_FIELD_LINE = 65536
MAX_FIELDS = 100
# The line that ends a head; an empty read ends it too (the client went), and llhttp refuses it unfinished.
_HEAD_ENDS = (b"\r\n", b"\n", b"")
# What gunicorn's gthread worker says in its Server header, in place of its own name.
SERVER_HEADER = "shop"
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


def read_field_lines(rfile: Any) -> bytes:
    """The field lines of a head and the empty line after them, as sent.

    :raise HeadTooLarge: a line over ``MAX_FIELD_LINE`` bytes, or more than ``MAX_FIELDS`` lines.
    """
    lines: list[bytes] = []
    while True:
        line = rfile.readline(MAX_FIELD_LINE + 1)
        if len(line) > MAX_FIELD_LINE or len(lines) > MAX_FIELDS:
            raise HeadTooLarge("The request's header fields are too many or too long.")
        lines.append(line)
        if line in _HEAD_ENDS:
            return b"".join(lines)


class RequestFields(http.client.HTTPMessage):
    """A request's fields as pywsgi reads ``self.headers``: http.client's message, as gevent's
    ``headers_factory`` gives it, but filled from llhttp's reading instead of the email package's parser."""

    status = ""  # pywsgi refuses a message whose status is set
    # The fields as read, which pywsgi's environ is built from (see headers).
    fields: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, fields: Iterable[tuple[str, str]]) -> "RequestFields":
        message = cls()
        message.fields = tuple(fields)
        for name, value in message.fields:
            message[name] = value
        return message

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.get(name, default)

    @property
    def headers(self) -> Iterator[str]:
        """The field lines, from the fields as read: ``items()`` passes every value through the email
        package's policy, which leaves latin-1 text as it is, at several times the cost."""
        return (f"{name}: {value}\r\n" for name, value in self.fields)

    @property
    def typeheader(self) -> str | None:
        return self.get("content-type")


class IdleLimitedHandler(PyWSGIHandler):
    """pywsgi's handler of one connection: closed after ``idle_seconds`` of silence, refusals in JSON."""

    idle_seconds: float | None = None  # gunicorn's --keep-alive, set by the worker as it starts

    # Set for each request by read_request: the line MessageClass reads the head from, whether
    # Connection (read as a list of tokens) says close, and the (status, answer) of a refused head.
    request_line = ""
    closes_after_answer = False
    refused_with: tuple[str, bytes] | None = None
    corked = False  # see start_response

    def handle(self) -> None:
        self.socket.settimeout(self.idle_seconds)
        super().handle()

    def read_request(self, raw_requestline: str) -> bool:
        """pywsgi's reading of the request, its head read by :meth:`MessageClass`, keep-alive by its tokens.

        :raise ValueError: the head is refused (pywsgi's contract); :attr:`refused_with` holds the
            answer :meth:`handle_one_request` gives in place of pywsgi's empty 400.
        """
        self.request_line = raw_requestline
        try:
            super().read_request(raw_requestline)
        except Exception as error:
            status = refused_status(error) or 400
            self.refused_with = str(status), refusal(status, framing_message(error))
            raise ValueError(str(error)[:200]) from error
        if self.closes_after_answer:
            self.close_connection = True
        return True

    def MessageClass(self, rfile: Any, *args: Any) -> RequestFields:  # noqa: N802 (pywsgi's name)
        """The request's fields, once llhttp has read the whole head and its framing passed the rules.

        :raise FramingError: the head is malformed or ambiguous (400). :raise HeadTooLarge: (431).
        """
        head = self.request_line.encode("latin-1") + read_field_lines(rfile)
        version, fields = read_head(head)
        self.closes_after_answer = check_fields(version, fields)
        return RequestFields.of(fields)

    def handle_one_request(self) -> tuple[str, bytes] | bool | None:
        """A request pywsgi refuses is answered with the (status, answer) this returns: JSON in place of
        its empty 414 (a request line over ``MAX_REQUEST_LINE``) and 400 (a head :meth:`read_request` refused)."""
        result = super().handle_one_request()
        if not isinstance(result, tuple):
            return result
        refused, self.refused_with = self.refused_with, None
        if result[0] == "414":
            return "414", refusal(414)
        return refused or ("400", refusal(400))

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
        """WSGI's start_response, the socket then corked (Linux's ``TCP_CORK``) until :meth:`write`
        has written the first body bytes: the head and they leave in one segment, the reader wakes once.

        Not before: a ``100 Continue`` the app asks for by reading the body must leave at once.
        """
        write = super().start_response(status, headers, exc_info)
        if not self.corked:
            self.set_cork(True)
        return write

    def write(self, data: bytes) -> None:
        """WSGI's write callable, which pywsgi writes every part of the body with: the first uncorks."""
        super().write(data)
        if self.corked:
            self.set_cork(False)

    def set_cork(self, corked: bool) -> None:
        with suppress(OSError):  # the client is gone: the next write says so
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, corked)
        self.corked = corked

    def run_application(self) -> None:
        """The app's own fault is answered (:meth:`handle_error`) before pywsgi reads what is left of the
        body: a broken one would otherwise turn the answer into pywsgi's empty 400."""
        try:
            super().run_application()
        except OSError:  # the client's socket: pywsgi's to judge
            raise
        except Exception:
            self.handle_error(*sys.exc_info())

    def handle_error(self, kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        """A fault of the app or the server: a 500 in the error shape, if no head was sent yet.

        WSGI's ``start_response`` given the error raises it again once a head went out (PEP 3333);
        pywsgi then logs it and, the head sent, closes the connection.
        """
        body = error_json(500)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Connection", "close")]
        try:
            self.start_response("500 Internal Server Error", headers, (kind, error, trace))
            self.write(body)
        except BaseException as raised:
            if raised is not error and not isinstance(raised, OSError):
                raise
        super().handle_error(kind, error, trace)

    def log_request(self) -> None:
        """Nothing: the app writes each request's access line (shop_common/observability.py), with the
        request id and user, and a second line per request from the server would cost CPU on every hop."""


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


class NamingNoSoftware:
    """The app under gthread, each answer's Server header saying ``shop`` where gunicorn says its own name.

    gunicorn has no setting for it (its maintainers' choice, gunicorn issue 825): it writes the
    ``version`` of the response whose ``start_response`` the app is given, which is set here.
    Any other attribute is the app's (``config``, ``extensions``: shop_common/lifecycle.py).
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        response = getattr(start_response, "__self__", None)
        if isinstance(response, gunicorn_wsgi.Response):
            response.version = SERVER_HEADER
        return self.app(environ, start_response)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)


class ThreadWorker(GunicornThreadWorker):
    """gunicorn's ``gthread`` worker: draining first, its refusals of malformed or oversized requests in JSON."""

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi: Any = NamingNoSoftware(self.wsgi)

    def handle_request(self, req: Any, conn: Any) -> bool:
        """gunicorn's parser has read the head: the rules it leaves to the server first (shop_common/http_framing.py).

        :raise FramingError: answered 400 by :meth:`handle_error`, the connection closed.
        """
        if check_fields(req.version, req.headers):
            req.force_close()
        return bool(super().handle_request(req, conn))

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # gunicorn writes its own Connection header: without keep-alive it says ``close``.
        self.cfg.set("keepalive", 0)
        drain_then_stop(self, partial(super().handle_exit, sig, frame), _on_a_thread_later)

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        status = refused_status(exc)
        if status is None:
            return super().handle_error(req, client, addr, exc)
        self.log.warning("Invalid request from ip=%s: %r", (addr or ("",))[0], str(exc)[:200])
        try:
            util.write_nonblock(client, refusal(status, framing_message(exc)))
        except Exception:  # the client is gone: nothing to answer
            self.log.debug("Failed to send error message.")
        return None
