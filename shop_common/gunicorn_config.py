"""Gunicorn hooks of every service (``--config python:shop_common.gunicorn_config``).

The master builds the app (``--preload``) and forks each worker from it, so the
worker shares the master's memory pages until it writes to them. Loaded before
gevent patches the master (``PyWSGIWorker.setup``): nothing is imported here
that takes a lock at import; the hooks import what they need when called.
"""

import gc
import os
from typing import Any

# gunicorn's own lines (start, listening, worker boot and exit, signals, shutdown) go up to the
# root logger, whose one handler the app sets in the master before gunicorn starts (--preload;
# shop_common/observability.py): they come out in LOG_FORMAT like every other line, with the
# service's name. "root": {} leaves the root logger alone, "handlers": {} makes none of
# gunicorn's plain-text ones; no level, so --log-level still counts.
logconfig_dict = {
    "root": {},
    "handlers": {},
    "formatters": {},
    "loggers": {
        "gunicorn.error": {"handlers": [], "propagate": True},
        "gunicorn.access": {"handlers": [], "propagate": True},
    },
}


def pre_fork(server: Any, worker: Any) -> None:
    """Let the app's timers end, then park the master's objects where a worker's garbage collector never walks them.

    A timer the app started while it was built (the rate limiter's memory storage starts one)
    is a greenlet in a gevent master: copied into a worker, it would end there in a thread table
    that no longer holds it and print a KeyError traceback, a line that is not JSON. A full
    collection writes to every object it visits, and each page written is copied: without the
    freeze, a worker's first full collection ends the sharing.
    """
    import threading

    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.join(timeout=1.0)
    gc.freeze()


def worker_exit(server: Any, worker: Any) -> None:
    """Leave the frozen objects to the exit's collection, before gevent's teardown (which would report errors)."""
    gc.unfreeze()
    _forget_log_handlers()


def on_exit(server: Any) -> None:
    gc.unfreeze()
    _forget_log_handlers()


def _forget_log_handlers() -> None:
    """Flush and close the log handlers now, and drop logging's weak references to them.

    Handlers that modules keep (Flask's default one, charset_normalizer's) die only when the
    interpreter clears those modules, after gevent's own: each death would then take logging's
    lock through gevent's torn-down thread module and print an "Exception ignored in
    _removeHandlerRef" traceback, a line that is not JSON. Without the references, nothing runs.
    """
    import logging

    logging.shutdown()
    del logging._handlerList[:]  # type: ignore[attr-defined]


def post_worker_init(worker: Any) -> None:
    """Start what belongs to this worker alone: sweepers, the span exporter (shop_common/lifecycle.py)."""
    from shop_common import lifecycle

    lifecycle.start_worker(worker.wsgi)


def child_exit(server: Any, worker: Any) -> None:
    """Drop an exited worker's live gauges (pool connections in use), which would otherwise be summed for ever."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
