"""Gunicorn hooks of every service (``--config python:shop_common.gunicorn_config``).

The master builds the app (``--preload``) and forks each worker from it, so the
worker shares the master's memory pages until it writes to them. Loaded before
gevent patches the master (``PyWSGIWorker.setup``): nothing is imported here
that takes a lock at import; the hooks import what they need when called.
"""

import gc
import os
from typing import Any


def pre_fork(server: Any, worker: Any) -> None:
    """Park the master's objects where a worker's garbage collector never walks them.

    A full collection writes to every object it visits, and each page written is
    copied: without this, a worker's first full collection ends the sharing.
    """
    gc.freeze()


def worker_exit(server: Any, worker: Any) -> None:
    """Leave the frozen objects to the exit's collection, before gevent's teardown (which would report errors)."""
    gc.unfreeze()


def on_exit(server: Any) -> None:
    gc.unfreeze()


def post_worker_init(worker: Any) -> None:
    """Start what belongs to this worker alone: sweepers, the span exporter (shop_common/lifecycle.py)."""
    from shop_common import lifecycle

    lifecycle.start_worker(worker.wsgi)


def child_exit(server: Any, worker: Any) -> None:
    """Drop an exited worker's live gauges (pool connections in use), which would otherwise be summed for ever."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
