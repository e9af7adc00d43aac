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


class DrainOnTerm:
    """SIGTERM: fail readiness at once, serve on for ``SHUTDOWN_DRAIN_SECONDS``, then stop gracefully."""

    def handle_exit(self, sig, frame):
        if lifecycle.is_draining():  # the master and the process group may both send it
            return
        lifecycle.begin_draining()
        self.stop_keeping_alive()
        seconds = getattr(self.wsgi, "config", {}).get("SHUTDOWN_DRAIN_SECONDS", 0)
        self.log.info("draining for %s s before stopping (pid:%s)", seconds, self.pid)
        self.later(seconds, super().handle_exit, sig, frame)


class ThreadWorker(DrainOnTerm, GunicornThreadWorker):
    """gunicorn's ``gthread`` worker, draining first."""

    def stop_keeping_alive(self):
        """gunicorn writes its own Connection header here: without keep-alive it says ``close``."""
        self.cfg.set("keepalive", 0)

    @staticmethod
    def later(seconds, function, *args):
        timer = threading.Timer(seconds, function, args)
        timer.daemon = True
        timer.start()


class PyWSGIWorker(DrainOnTerm, GeventPyWSGIWorker):
    wsgi_handler = IdleLimitedHandler

    def init_process(self):
        # One worker per process: the class attribute is this worker's setting.
        IdleLimitedHandler.idle_seconds = self.cfg.keepalive
        super().init_process()

    def stop_keeping_alive(self):
        """pywsgi honours the app's ``Connection: close`` (shop_common/lifecycle.py)."""

    @staticmethod
    def later(seconds, function, *args):
        gevent.spawn_later(seconds, function, *args)
