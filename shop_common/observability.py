"""Request ids, log format and the access log.

Every request gets an id: the client's ``X-Request-ID`` when it is a sane token
(1-128 of ``A-Z a-z 0-9 . _ -``, so it cannot forge log lines), otherwise a new
one. It is returned on the response, passed on by :mod:`shop_common.http_client`
and printed in every log line. One access line per request records method,
path (percent-encoded again, see :func:`encoded_path`; never the query string,
which may carry secrets), status, duration, id and user.
"""
import logging
import re
import sys
import time
import uuid
from urllib.parse import quote

from flask import g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
# RFC 3986: what a path segment may hold as it is (letters, digits and "-._~" are never quoted).
_PATH_SAFE = "/:@!$&'()*+,;="

access_log = logging.getLogger("access")


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def configure_logging(service, level):
    """One stderr handler on the root logger: time, level, service, request id, message."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(
        f"%(asctime)s %(levelname)s {service} [%(request_id)s] %(name)s: %(message)s"
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def current_request_id():
    return g.get("request_id") if has_request_context() else None


def encoded_path():
    """The request path with its percent-encoding restored.

    Werkzeug decodes the path: ``%0A`` becomes a new line that would forge a log
    line, ``%3F`` and ``%23`` a query or fragment that would cut the path short
    when forwarded. Encoded again, it is one printable token that means what the
    client sent (``%2F`` comes back as ``/``, which the router treats alike).
    """
    return quote(request.path, safe=_PATH_SAFE)


def init_app(app):
    @app.before_request
    def start_request():
        g.started_at = time.perf_counter()
        client_id = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = client_id if _SANE_REQUEST_ID.fullmatch(client_id) else uuid.uuid4().hex

    @app.after_request
    def finish_request(response):
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = request_id
        duration_ms = (time.perf_counter() - g.get("started_at", time.perf_counter())) * 1000
        caller = g.get("caller")
        user = "-" if caller is None else (caller.user_id or caller.role)
        access_log.info(
            "%s %s %s %.1fms user=%s", request.method, encoded_path(),
            response.status_code, duration_ms, user,
        )
        return response
