"""gunicorn's ``gthread`` worker of the user service, whose bcrypt would stall a gevent loop.

``--worker-class shop_common.thread_worker.ThreadWorker``. A module of its own, so
that the user service's master and worker import no gevent for their server (nor for
their HTTP client until a user is deleted: user_service/erasure.py; 5.6 MiB of the
service's PSS, docs/performance.md, "Memory per process"); shop_common.gunicorn_worker
names it too.

gunicorn's parser reads a request's head, and :meth:`ThreadWorker.handle_request`
applies what that parser leaves to the server (shop_common/http_framing.py): an
ambiguous head is a 400 and closes the connection, and ``Connection`` is read as a
list of tokens. Its refusals are answered in JSON (shop_common/worker_common.py).

Only gunicorn's public extension points are used (tests/unit/test_server_extension_points.py):
``load_wsgi``, ``handle_request``, ``handle_error`` and ``handle_exit``, and the app it
calls. gunicorn names itself in every answer's Server header, which
:class:`NamingNoSoftware` makes ``shop``. On SIGTERM it drains before gunicorn's
graceful stop: see shop_common/lifecycle.py.
"""

import socket
import threading
from collections.abc import Callable
from functools import partial
from types import FrameType
from typing import Any

from gunicorn import util
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.workers.gthread import ThreadWorker as GunicornThreadWorker

from .http_framing import check_fields
from .worker_common import drain_then_stop, framing_message, refusal, refused_status

# What gunicorn's gthread worker says in its Server header, in place of its own name.
SERVER_HEADER = "shop"


def _on_a_thread_later(seconds: float, function: Callable[[], None]) -> None:
    timer = threading.Timer(seconds, function)
    timer.daemon = True
    timer.start()


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
