"""Request ids, logging (text or JSON), the access log; metrics and traces are switched on from here.

Every request gets an id: the client's ``X-Request-ID`` when it is a sane token
(1-128 of ``A-Z a-z 0-9 . _ -``, so it cannot forge log lines), otherwise a new
one. It is returned on the response, passed on by :mod:`shop_common.http_client`
and printed in every log line, beside the trace id when tracing is on
(:mod:`shop_common.tracing`). One access line per request records method,
path (percent-encoded again, see :func:`encoded_path`; never the query string,
which may carry secrets), status, duration, id and user.

``LOG_FORMAT=text`` (the default, for a terminal) prints
``time level service [request id] logger: message`` (``[request id trace id]``
with tracing on); ``LOG_FORMAT=json`` prints one JSON object per line with
``time``, ``level``, ``service``, ``request_id``, ``trace_id``, ``logger`` and
``message``, and the access line's ``method``, ``path``, ``status``,
``duration_ms`` and ``user`` as fields of their own.
"""

import json
import logging
import random
import re
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from flask import Flask, current_app, g, has_app_context, request
from werkzeug.wrappers import Response

from . import metrics, tracing

if TYPE_CHECKING:
    from werkzeug.datastructures import Headers

    from .auth import Caller

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
# RFC 3986: what a path segment may hold as it is (letters, digits and "-._~" are never quoted).
_PATH_SAFE = "/:@!$&'()*+,;="

access_log = logging.getLogger("access")


# The access line's fields, given to the JSON format as fields of their own.
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "user")


class RequestIdFilter(logging.Filter):
    def __init__(self, with_trace_id: bool) -> None:
        super().__init__()
        self.with_trace_id = with_trace_id

    def filter(self, record: logging.LogRecord) -> bool:
        # On the app context's g: the forwarding below Flask has no request context.
        record.request_id = g.get("request_id", "-") if has_app_context() else "-"
        record.trace_id = tracing.current_trace_id() if self.with_trace_id else "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record; see the module's docstring for its fields."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "service": self.service,
            # request_id and trace_id: set by RequestIdFilter, on the same handler
            "request_id": getattr(record, "request_id", "-"),
            "trace_id": getattr(record, "trace_id", "-"),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({name: getattr(record, name) for name in ACCESS_FIELDS if hasattr(record, name)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(service: str, level: int | str, log_format: str = "text", with_trace_id: bool = False) -> None:
    """One stderr handler on the root logger, in ``log_format`` (``text`` or ``json``).

    :raise RuntimeError: another ``log_format``.
    """
    if log_format not in ("text", "json"):
        raise RuntimeError(f"LOG_FORMAT={log_format!r}: use text or json.")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter(with_trace_id))
    if log_format == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        ids = "%(request_id)s %(trace_id)s" if with_trace_id else "%(request_id)s"
        handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {service} [{ids}] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # No format here prints a record's thread or process, which every record would otherwise look up
    # (under gevent, the current greenlet's thread object): the logging HOWTO's "Optimization".
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def current_request_id() -> str | None:
    return g.get("request_id") if has_app_context() else None


def encoded_path(path: str | None = None) -> str:
    """The request path with its percent-encoding restored.

    Werkzeug decodes the path: ``%0A`` becomes a new line that would forge a log
    line, ``%3F`` and ``%23`` a query or fragment that would cut the path short
    when forwarded. Encoded again, it is one printable token that means what the
    client sent (``%2F`` comes back as ``/``, which the router treats alike).
    ``path``: the decoded path of a request served without Flask's request context.
    """
    return quote(request.path if path is None else path, safe=_PATH_SAFE)


def init_app(app: Flask) -> None:
    """Logging, request ids and the access line, traces when configured, metrics when enabled."""
    config = app.config
    traced = tracing.init_app(app, config["SERVICE_NAME"])
    configure_logging(config["SERVICE_NAME"], config["LOG_LEVEL"], config["LOG_FORMAT"], traced)
    metrics.init_app(app)
    app.before_request(start_request)
    app.after_request(finish_request)


def start_request() -> None:
    g.started_at = time.perf_counter()
    g.request_id = request_id_of(request.headers)


def request_id_of(headers: "Headers") -> str:
    """The client's ``X-Request-ID`` when it is sane, else a new id."""
    client_id = headers.get(REQUEST_ID_HEADER, "")
    return client_id if _SANE_REQUEST_ID.fullmatch(client_id) else new_request_id()


def new_request_id() -> str:
    """128 random bits in hex, like a UUID4 but without asking the kernel for them on every request.

    An id must be unique, not secret: Python's generator is seeded from the OS at start and
    again in each forked worker, so two processes never share a sequence.
    """
    return f"{random.getrandbits(128):032x}"


def finish_request(response: Response) -> Response:
    """The request id on the response, and the access line."""
    finish(response, request.method, encoded_path(), g.get("started_at"), g.get("request_id"), g.get("caller"))
    return response


def finish(
    response: Response,
    method: str,
    path: str,
    started_at: float | None,
    request_id: str | None,
    caller: "Caller | None",
) -> None:
    """The request id on ``response`` and the access line: method, ``path`` (encoded), status, duration, user.

    Needs an app context, not a request's (the gateway's forwarding below Flask calls it too).
    """
    response.headers[REQUEST_ID_HEADER] = request_id or new_request_id()
    if not access_log.isEnabledFor(logging.INFO):
        return
    duration_ms = (time.perf_counter() - (started_at or time.perf_counter())) * 1000
    user = "-" if caller is None else (caller.user_id or caller.role)
    # The text line holds the fields already; a JSON line carries them apart too.
    fields = None
    if current_app.config["LOG_FORMAT"] == "json":
        fields = {
            "method": method,
            "path": path,
            "status": response.status_code,
            "duration_ms": round(duration_ms, 1),
            "user": user,
        }
    # Made and handled as Logger.info would, without its search of the stack for the caller's file
    # and line (no format prints them): the access line is the most frequent record of every process.
    record = access_log.makeRecord(
        access_log.name,
        logging.INFO,
        __file__,
        0,
        "%s %s %s %.1fms user=%s",
        (method, path, response.status_code, duration_ms, user),
        None,
        extra=fields,
    )
    access_log.handle(record)
