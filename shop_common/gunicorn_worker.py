"""The gunicorn worker of the I/O-bound services, gevent's pywsgi, strict on a request's head.

``--worker-class shop_common.gunicorn_worker.PyWSGIWorker``. The user service's
is shop_common/thread_worker.py's (``ThreadWorker``, named here too), in a module
of its own so that it never imports gevent.

gevent's pywsgi reads and writes a request with less Python than gunicorn's
``gevent`` worker (docs/performance.md), but it keeps a connection open for as
long as the client likes, where gunicorn's worker closes it after ``--keep-alive``
seconds. :class:`PyWSGIWorker` restores that: every connection's socket times out
after ``--keep-alive`` seconds without a byte read or written, which pywsgi treats
as the client gone, so an idle or stalled client cannot hold a connection for ever.

Both workers read a request's head strictly, by one set of rules (shop_common/http_framing.py):
here llhttp reads the head in place of the email package's lenient parser
(:meth:`IdleLimitedHandler.MessageClass`, pywsgi's documented hook for it). An ambiguous
head is a 400 and closes the connection, and ``Connection`` is read as a list of tokens.
A request the server refuses before the app sees it is answered in the error shape,
as the thread worker's are (shop_common/worker_common.py), in place of pywsgi's empty
400 and 414.

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

Of gevent's worker, gunicorn's ``setup`` (the worker class's hook before the app is
loaded), ``patch``, ``init_process``, ``handle_exit`` and ``wsgi_handler``. It drains
on SIGTERM before gunicorn's graceful stop: see shop_common/lifecycle.py.

The app is built in gunicorn's master (``--preload``): :meth:`PyWSGIWorker.setup`
patches that master with gevent first.
"""

import http.client
import socket
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from functools import partial
from types import FrameType, TracebackType
from typing import Any

import gevent
import gevent.socket
from gevent import monkey
from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIHandler

from .http_framing import HeadTooLarge, check_fields, read_head
from .thread_worker import ThreadWorker
from .worker_common import drain_then_stop, error_json, framing_message, refusal, refused_status

# The user service's worker is shop_common/thread_worker.py's; the name here is kept for those
# that named it here (tests/service/shop_common/test_gunicorn_worker.py).
__all__ = ["IdleLimitedHandler", "PyWSGIWorker", "ThreadWorker"]

# pywsgi's limits on a head, as http.client read them for it: a longer line or more fields are a 431.
MAX_FIELD_LINE = 65536
MAX_FIELDS = 100
# The line that ends a head; an empty read ends it too (the client went), and llhttp refuses it unfinished.
_HEAD_ENDS = (b"\r\n", b"\n", b"")


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
