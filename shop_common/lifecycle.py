"""A graceful stop that a load balancer or an orchestrator can follow.

On SIGTERM the gunicorn worker (shop_common/gunicorn_worker.py) calls
:func:`begin_draining`: from then on ``/health/ready`` answers 503, while the
process goes on serving for ``SHUTDOWN_DRAIN_SECONDS``, the time a balancer
needs to see that and send the next requests elsewhere (HAProxy's health check,
a Kubernetes endpoint update). Then gunicorn's own graceful stop runs: no new
connection is accepted, requests in flight are finished within its
``--graceful-timeout``, and the process exits. While draining, every answer
carries ``Connection: close``, so kept-alive client connections move to another
replica instead of being cut when the process exits.
"""

import threading

from flask import Flask, Response

_draining = threading.Event()


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
