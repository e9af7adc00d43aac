"""The gunicorn worker of the I/O-bound services: gevent's own WSGI server, with an idle limit.

``--worker-class shop_common.gunicorn_worker.PyWSGIWorker``. gevent's pywsgi reads
and writes a request with less Python than gunicorn's ``gevent`` worker
(docs/performance.md), but it keeps a connection open for as long as the client
likes, where gunicorn's worker closes it after ``--keep-alive`` seconds.
This worker restores that: every connection's socket times out after
``--keep-alive`` seconds without a byte read or written, which pywsgi treats as
the client gone, so an idle or stalled client cannot hold a connection for ever.
"""
from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIHandler


class IdleLimitedHandler(PyWSGIHandler):
    """pywsgi's handler of one connection, closing it after ``idle_seconds`` of silence."""

    idle_seconds: float | None = None  # gunicorn's --keep-alive, set by the worker as it starts

    def handle(self) -> None:
        self.socket.settimeout(self.idle_seconds)
        super().handle()


class PyWSGIWorker(GeventPyWSGIWorker):
    wsgi_handler = IdleLimitedHandler

    def init_process(self) -> None:
        # One worker per process: the class attribute is this worker's setting.
        IdleLimitedHandler.idle_seconds = self.cfg.keepalive
        super().init_process()
