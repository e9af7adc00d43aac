"""A graceful stop that a load balancer or an orchestrator can follow.

On SIGTERM the gunicorn worker (shop_common/gunicorn_worker.py, thread_worker.py) calls
:func:`begin_draining`: from then on ``/health/ready`` answers 503, while the
process goes on serving for ``SHUTDOWN_DRAIN_SECONDS``, the time a balancer
needs to see that and send the next requests elsewhere (HAProxy's health check,
a Kubernetes endpoint update). Then gunicorn's own graceful stop runs: no new
connection is accepted, requests in flight are finished within its
``--graceful-timeout``, and the process exits. While draining, every answer
carries ``Connection: close``, so kept-alive client connections move to another
replica instead of being cut when the process exits.

gunicorn builds the app once in its master (``--preload``) and forks the workers
from it: what must belong to one process (a thread, an exporter) is registered
with :func:`on_worker_start` and started in each worker as it begins.
"""

import threading
from collections.abc import Callable

from flask import Flask, Response

_draining = threading.Event()


def on_worker_start(app: Flask, start: Callable[[], object]) -> None:
    """Call ``start()`` in each worker serving ``app``, never in the master: threads do not cross a fork."""
    app.extensions.setdefault("worker_start", []).append(start)


def start_worker(app: Flask) -> None:
    """What :func:`on_worker_start` registered (gunicorn's ``post_worker_init``, shop_common/gunicorn_config.py)."""
    for start in app.extensions.get("worker_start", ()):
        start()


def begin_draining() -> None:
    _draining.set()


def is_draining() -> bool:
    return _draining.is_set()


def init_app(app: Flask) -> None:
    app.after_request(close_connections_while_draining)


def close_connections_while_draining(response: Response) -> Response:
    if is_draining():
        response.headers["Connection"] = "close"
    return response
