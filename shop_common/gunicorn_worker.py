"""The gunicorn worker of the I/O-bound services: gevent's own WSGI server, with an idle limit.

``--worker-class shop_common.gunicorn_worker.PyWSGIWorker``. gevent's pywsgi reads
and answers a request with less Python than gunicorn's ``gevent`` worker (the
gateway spends 0.58 ms of CPU per relayed read instead of 0.67 ms: +14 % reads per
second, README Performance), but it keeps a connection open for as long as the
client likes, where gunicorn's worker closes it after ``--keep-alive`` seconds.
This worker restores that: every connection's socket times out after
``--keep-alive`` seconds without a byte read or written, which pywsgi treats as
the client gone, so an idle or stalled client cannot hold a connection for ever.

Both workers here (``ThreadWorker`` is the user service's) drain on SIGTERM
before gunicorn's graceful stop: see shop_common/lifecycle.py.
"""
import threading
from collections.abc import Callable
from functools import partial
from types import FrameType
from typing import Any

import gevent
from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIHandler
from gunicorn.workers.gthread import ThreadWorker as GunicornThreadWorker

from . import lifecycle


class IdleLimitedHandler(PyWSGIHandler):
    """pywsgi's handler of one connection, closing it after ``idle_seconds`` of silence."""

    idle_seconds = 75  # the worker sets gunicorn's --keep-alive here as it starts

    def handle(self):
        self.socket.settimeout(self.idle_seconds)
        super().handle()


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


class ThreadWorker(GunicornThreadWorker):
    """gunicorn's ``gthread`` worker, draining first."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # gunicorn writes its own Connection header: without keep-alive it says ``close``.
        self.cfg.set("keepalive", 0)
        drain_then_stop(self, partial(super().handle_exit, sig, frame), _on_a_thread_later)


class PyWSGIWorker(GeventPyWSGIWorker):
    wsgi_handler = IdleLimitedHandler

    def init_process(self) -> None:
        # One worker per process: the class attribute is this worker's setting.
        IdleLimitedHandler.idle_seconds = self.cfg.keepalive
        super().init_process()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # pywsgi honours the app's ``Connection: close`` (shop_common/lifecycle.py).
        drain_then_stop(self, partial(super().handle_exit, sig, frame), gevent.spawn_later)
