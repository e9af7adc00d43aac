"""HTTP calls from one service to another.

One urllib3 connection pool per target service and process keeps keep-alive
connections. Every call has a connect and a read timeout, carries the
request id and (unless told otherwise) this service's token. A refused
connection is retried twice within ~0.1 s (nothing was sent, so it is safe for
any method), then answered as 503; a read timeout as 504, never retried (the
other service may be acting on the request). The caller gets urllib3's
response, body read (``.status``, ``.headers``, ``.data``, ``.json()``), for
every status the other service returned. Each call is timed into
``shop_service_call_duration_seconds`` (shop_common/metrics.py) unless the
client was made with ``record_metrics=False``.

Before a pooled connection is reused, urllib3 checks that the other side has
not closed it (a service restarted, or dropped it after its keep-alive), here
with :func:`shop_common.sockets.still_open`.

Calls go straight to urllib3's pool, requests' transport, not through a
``requests.Session``: its layers (merging cookies, settings and the environment,
preparing the request, building a ``requests.Response``) did nothing a call
between services or the gateway's relay needs, and cost CPU on every call
(docs/performance.md). So no proxy variable or ``.netrc`` is
looked up (the services are on a private network, never behind a proxy) and no
cookie is kept (one pool serves every user; a cookie set by one user's response
must never travel with another's request).
"""

import logging
import time
from collections.abc import Mapping
from json import dumps as json_dumps
from typing import Any

import urllib3
from flask import current_app
from urllib3 import HTTPHeaderDict
from urllib3.util.retry import Retry

from . import metrics
from .auth import service_token
from .errors import ApiError
from .observability import REQUEST_ID_HEADER, current_request_id
from .sockets import still_open

log = logging.getLogger(__name__)

# read=False, not 0: urllib3 re-raises a read timeout as it is, where a spent
# read budget would wrap it as a connection error (a hung GET would be a 503).
_CONNECT_RETRIES = Retry(total=2, connect=2, read=False, status=0, other=0, backoff_factor=0.05)


class CheckedConnection(urllib3.connection.HTTPConnection):
    """urllib3's connection, with the open-or-closed check made by one system call."""

    @property
    def is_connected(self) -> bool:
        return still_open(self.sock)


class CheckedHTTPSConnection(urllib3.connection.HTTPSConnection):
    @property
    def is_connected(self) -> bool:
        return still_open(self.sock)


class ServiceClient:
    def __init__(
        self,
        name: str,
        base_url: str,
        connect_timeout: float,
        read_timeout: float,
        pool_size: int = 32,
        record_metrics: bool = True,
    ) -> None:
        self.name = name
        self.record_metrics = record_metrics
        self.base_url = base_url.rstrip("/")
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.pool = urllib3.connection_from_url(self.base_url, maxsize=pool_size)
        self.pool.ConnectionCls = CheckedHTTPSConnection if self.pool.scheme == "https" else CheckedConnection

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        signed: bool = True,
        read_timeout: float | None = None,
    ) -> urllib3.BaseHTTPResponse:
        """Call the service, with this service's token unless ``signed`` is False; ``json`` is sent as the body.

        ``read_timeout`` (seconds) replaces the client's for this call.

        :raise 503: the service refused the connection or could not be reached.
        :raise 504: the service did not answer within the read timeout.
        """
        sent_headers = self._with_request_id(headers)
        if signed:
            sent_headers["Authorization"] = f"Bearer {service_token()}"
        timeout = (
            self.timeout
            if read_timeout is None
            else urllib3.Timeout(connect=self.timeout.connect_timeout, read=read_timeout)
        )
        body = None
        if json is not None:
            body = json_dumps(json, allow_nan=False).encode()
            sent_headers["Content-Type"] = "application/json"
            sent_headers["Content-Length"] = str(len(body))
        started_at = time.perf_counter()
        response = self._urlopen(method, path, body, sent_headers, timeout, started_at)
        self._record(metrics.call_outcome(response.status), started_at)
        return response

    def request_ok(self, method: str, path: str, *, json: Any = None) -> urllib3.BaseHTTPResponse:
        """The response of a call that must succeed (200), with this service's token.

        :raise 503: the service returned another status; 503, 504 as :meth:`request`.
        """
        response = self.request(method, path, json=json)
        if response.status != 200:
            raise ApiError(503, f"The {self.name} service returned {response.status} to {method} {path}.")
        return response

    def fetch(self, path: str, not_found: str) -> Any:
        """The JSON of ``GET path``: a resource the other service owns, read with this service's token.

        :raise 404: the service has no such resource, with the message ``not_found``.
        :raise 503: it returned any other error; 503, 504 as :meth:`request`.
        """
        response = self.request("GET", path)
        if response.status == 404:
            raise ApiError(404, not_found)
        if response.status != 200:
            log.error("%s service returned %s to GET %s", self.name, response.status, path)
            raise ApiError(503, f"The {self.name} service could not be asked.")
        return response.json()

    def forward(self, method: str, target: str, body: bytes, headers: Mapping[str, str]) -> urllib3.BaseHTTPResponse:
        """Relay a request as it is: ``target`` already encoded, ``body`` bytes, ``headers`` the client's.

        :raise 503, 504: as :meth:`request`.
        """
        sent_headers = self._with_request_id(headers)
        if body or method not in ("GET", "HEAD"):  # an empty POST says 0, as clients do
            sent_headers["Content-Length"] = str(len(body))
        started_at = time.perf_counter()
        response = self._urlopen(method, target, body or None, sent_headers, self.timeout, started_at)
        self._record(metrics.call_outcome(response.status), started_at)
        return response

    def _urlopen(
        self,
        method: str,
        target: str,
        body: bytes | None,
        headers: Mapping[str, str],
        timeout: urllib3.Timeout,
        started_at: float,
    ) -> urllib3.BaseHTTPResponse:
        """The pool's response, body read. :raise 503, 504: as :meth:`request`."""
        try:
            return self.pool.urlopen(
                method,
                target,
                body=body,
                headers=headers,
                retries=_CONNECT_RETRIES,
                timeout=timeout,
                redirect=False,
                preload_content=True,
            )
        except urllib3.exceptions.ReadTimeoutError as error:
            raise self._timed_out(started_at) from error
        except urllib3.exceptions.HTTPError as error:  # refused, reset, or no connection in time
            raise self._unavailable(started_at) from error

    @staticmethod
    def _with_request_id(headers: Mapping[str, str] | None) -> HTTPHeaderDict:
        """A copy of ``headers`` carrying this request's id, replacing a client's ``X-Request-Id`` in any case."""
        sent_headers = HTTPHeaderDict(headers)
        request_id = current_request_id()
        if request_id:
            sent_headers[REQUEST_ID_HEADER] = request_id
        return sent_headers

    def _record(self, outcome: str, started_at: float) -> None:
        if self.record_metrics:
            metrics.observe_call(self.name, outcome, started_at)

    def _timed_out(self, started_at: float) -> ApiError:
        self._record("timeout", started_at)
        return ApiError(504, f"The {self.name} service did not answer in time.")

    def _unavailable(self, started_at: float) -> ApiError:
        """No connection: refused, reset, or not made in time (outcome ``refused``)."""
        self._record("refused", started_at)
        return ApiError(503, f"The {self.name} service is unavailable.")


def service_client(name: str) -> ServiceClient:
    """The process-wide client for the service ``name`` (``user``, ``product``, ...)."""
    clients = current_app.extensions.setdefault("service_clients", {})
    if name not in clients:
        clients[name] = build_client(current_app.config, name)
    return clients[name]


def build_client(
    config: Mapping[str, Any], name: str, url_setting: str | None = None, timeout_setting: str = "SERVICE_TIMEOUT"
) -> ServiceClient:
    """A client for ``name`` from the app's settings: its URL (``<NAME>_SERVICE_URL`` unless
    ``url_setting``), the connect timeout, the read timeout ``timeout_setting`` and metrics on or off.

    Every client of a service, the gateway and the payment provider is made here.
    """
    return ServiceClient(
        name,
        config[url_setting or f"{name.upper()}_SERVICE_URL"],
        config["SERVICE_CONNECT_TIMEOUT"],
        config[timeout_setting],
        record_metrics=config["METRICS_ENABLED"],
    )
