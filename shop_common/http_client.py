"""HTTP calls from one service to another.

geventhttpclient's response class reads each response with llhttp, Node's
parser in C, where urllib3 read it with ``http.client`` and the email package;
in this project's own measure a call costs about half the CPU (docs/performance.md).
The connections are this module's own small pool, not the library's: its check
before reuse calls ``select``, which refuses a descriptor over 1023 (so a
process holding a thousand sockets never reused one), and it makes a caller
beyond its size wait with no time limit. Here a call never waits for a
connection: it takes the idle one last given back (a stack, so the warmest
socket is reused and the rest may time out at the service), or opens a new one;
at most ``idle_kept`` idle ones are kept, another is closed when given back.
The sockets are gevent's, bound to one thread's hub, so each client keeps one
pool per OS thread (the system's thread-local, not gevent's greenlet-local
one): one per target service in a gevent worker; one per thread in the user
service's threaded worker, which calls out seldom (an account erased), so one
client everywhere means one failure behaviour to keep.

Every call has a connect and a read timeout, carries the request id and
(unless told otherwise) this service's token. A refused connection is retried
twice within ~0.1 s (nothing was sent, so it is safe for any method), then
answered as 503; a read timeout as 504, never retried (the other service may be
acting on the request); a connection that breaks once the request is on its way
as 503, not retried for the same reason. Before a pooled connection is reused,
the pool checks with one zero-timeout ``poll`` (shop_common/sockets.py, no
descriptor limit) that the other side has not closed it (a service restarted,
or dropped it after its keep-alive). The caller
gets a :class:`Reply`, body read, for every status the other service returned.
Each call is timed into ``shop_service_call_duration_seconds``
(shop_common/metrics.py) unless the client was made with ``record_metrics=False``,
and is a client span, its ``traceparent`` sent on, when tracing is on
(shop_common/tracing.py).

The request head is written here and sent with the body in one write; the
response's body comes as the service sent it, never decoded (the gateway relays
a gzipped body with its ``Content-Encoding``). No proxy variable or ``.netrc``
is looked up (the services are on a private network, never behind a proxy) and
no cookie is kept (one pool serves every user; a cookie set by one user's
response must never travel with another's request).
"""

import _thread
import logging
import sys
import time
from collections.abc import Mapping
from json import dumps as json_dumps
from json import loads as json_loads
from typing import Any, cast
from urllib.parse import urlsplit

import gevent.socket
import gevent.ssl
from flask import current_app
from geventhttpclient.connectionpool import SSLConnectionPool
from geventhttpclient.header import Headers
from geventhttpclient.response import HTTPParseError, HTTPSocketPoolResponse

from . import metrics, tracing
from .auth import service_token
from .errors import ApiError
from .observability import REQUEST_ID_HEADER, current_request_id
from .sockets import still_open

log = logging.getLogger(__name__)

# After a refused connection: again at once, then after 0.1 s (urllib3's backoff, as before).
_CONNECT_RETRY_DELAYS = (0.0, 0.1)
# Bytes asked of the socket per read: a page of 100 products (23 kB) in one.
_READ_SIZE = 65536
_REQUEST_ID = REQUEST_ID_HEADER.lower()
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_CA_FILE: str = SSLConnectionPool.default_options["ca_certs"]

# The thread-local of the system's threads even where gevent has patched it to be per greenlet.
_gevent_monkey = sys.modules.get("gevent.monkey")
_per_os_thread = _gevent_monkey.get_original("_thread", "_local") if _gevent_monkey else _thread._local


class Reply:
    """A service's response, body read: ``.status``, ``.headers`` (any case; a header sent twice
    comes twice out of ``.items()``), ``.data`` (bytes as sent) and ``.json()``."""

    __slots__ = ("data", "headers", "status")

    def __init__(self, status: int, headers: Headers, data: bytes) -> None:
        self.status = status
        self.headers = headers
        self.data = data

    def json(self) -> Any:
        return json_loads(self.data)


class _Pool:
    """One OS thread's connections to one service: idle ones on a stack, new ones made on demand.

    Its greenlets share it without a lock: taking and giving back never switch greenlets.
    ``get_socket``, ``return_socket`` and ``release_socket`` are what geventhttpclient's
    ``HTTPSocketPoolResponse`` calls on the pool it is given.
    """

    __slots__ = ("address", "connect_timeout", "idle", "idle_kept", "server_hostname", "ssl_context")

    def __init__(
        self, host: str, port: int, connect_timeout: float, idle_kept: int, ssl_context: gevent.ssl.SSLContext | None
    ) -> None:
        self.address = (host, port)
        self.server_hostname = host
        self.connect_timeout = connect_timeout
        self.idle_kept = idle_kept
        self.ssl_context = ssl_context
        self.idle: list[Any] = []

    def get_socket(self) -> Any:
        """The idle connection given back last that the service has not closed, or a new one.

        :raise OSError: a new connection was refused or not made within the connect timeout.
        """
        idle = self.idle
        while idle:
            sock = idle.pop()
            if still_open(sock):
                return sock
            sock.close()
        sock = gevent.socket.create_connection(self.address, timeout=self.connect_timeout)
        try:
            sock.setsockopt(gevent.socket.IPPROTO_TCP, gevent.socket.TCP_NODELAY, 1)
            if self.ssl_context is not None:
                sock = self.ssl_context.wrap_socket(sock, server_hostname=self.server_hostname)
        except BaseException:
            sock.close()
            raise
        return sock

    def return_socket(self, sock: Any) -> None:
        """Keep a connection whose response was read whole, unless enough are idle already."""
        if len(self.idle) < self.idle_kept:
            self.idle.append(sock)
        else:
            sock.close()

    @staticmethod
    def release_socket(sock: Any) -> None:
        """Close a connection that cannot be used again (broken, or the service said close)."""
        sock.close()


class ServiceClient:
    def __init__(
        self,
        name: str,
        base_url: str,
        connect_timeout: float,
        read_timeout: float,
        # Idle connections kept per OS thread; calls at once beyond it open more, closed when done.
        idle_kept: int = 64,
        record_metrics: bool = True,
    ) -> None:
        self.name = name
        self.record_metrics = record_metrics
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.idle_kept = idle_kept
        url = urlsplit(self.base_url)
        self.https = url.scheme == "https"
        self.host = url.hostname or ""
        self.port = url.port or (443 if self.https else 80)
        self.host_header = url.netloc.rpartition("@")[2]
        self.traced = tracing.enabled()
        self._pools = _per_os_thread()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        signed: bool = True,
        read_timeout: float | None = None,
    ) -> Reply:
        """Call the service, with this service's token unless ``signed`` is False; ``json`` is sent as the body.

        ``read_timeout`` (seconds) replaces the client's for this call.

        :raise 503: the service refused the connection or could not be reached.
        :raise 504: the service did not answer within the read timeout.
        """
        sent_headers = self._with_request_id(headers)
        if signed:
            sent_headers["Authorization"] = f"Bearer {service_token()}"
        body = b""
        if json is not None:
            body = json_dumps(json, allow_nan=False).encode()
            sent_headers["Content-Type"] = "application/json"
            sent_headers["Content-Length"] = str(len(body))
        elif method in _METHODS_WITH_BODY:  # no body, said as http.client (under urllib3) said it
            sent_headers["Content-Length"] = "0"
        return self._call(method, path, body, sent_headers, self.read_timeout if read_timeout is None else read_timeout)

    def request_ok(self, method: str, path: str, *, json: Any = None) -> Reply:
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

    def forward(self, method: str, target: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        """Relay a request as it is: ``target`` already encoded, ``body`` bytes, ``headers`` the client's.

        :raise 503, 504: as :meth:`request`.
        """
        sent_headers = self._with_request_id(headers)
        if body or method not in ("GET", "HEAD"):  # an empty POST says 0, as clients do
            sent_headers["Content-Length"] = str(len(body))
        return self._call(method, target, body, sent_headers, self.read_timeout)

    def _call(self, method: str, target: str, body: bytes, headers: dict[str, str], read_timeout: float) -> Reply:
        """The service's response, timed, in a client span when tracing is on. :raise 503, 504: as :meth:`request`."""
        started_at = time.perf_counter()
        if self.traced and tracing.traces_call(target):
            with tracing.client_span(method, self.base_url + target, headers) as span:
                response = self._exchange(method, target, body, headers, read_timeout, started_at)
                tracing.end_client_span(span, response.status)
        else:
            response = self._exchange(method, target, body, headers, read_timeout, started_at)
        self._record(metrics.call_outcome(response.status), started_at)
        return response

    def _exchange(
        self, method: str, target: str, body: bytes, headers: dict[str, str], read_timeout: float, started_at: float
    ) -> Reply:
        """Send the request over a pooled connection and read the whole response."""
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        message = f"{method} {target} HTTP/1.1\r\nHost: {self.host_header}\r\n{head}\r\n".encode("latin-1") + body
        pool = self._pool()
        sock = self._connection(pool, started_at)
        try:
            try:
                sock.settimeout(read_timeout)
                sock.sendall(message)
            except BaseException:
                pool.release_socket(sock)
                raise
            # The response gives the connection back to the pool once its body is read, or closes it.
            response = HTTPSocketPoolResponse(sock, cast(Any, pool), block_size=_READ_SIZE, method=method)
            return Reply(response.status_code, response.info(), response.read())
        except TimeoutError as error:
            raise self._timed_out(started_at) from error
        except (OSError, HTTPParseError) as error:  # reset or closed before the whole response came
            raise self._unavailable(started_at) from error

    def _connection(self, pool: _Pool, started_at: float) -> Any:
        """A pooled connection still open, or a new one.

        :raise 503: refused (or not made within the connect timeout) three times.
        """
        for delay in _CONNECT_RETRY_DELAYS:
            try:
                return pool.get_socket()
            except OSError:
                time.sleep(delay)
        try:
            return pool.get_socket()
        except OSError as error:
            raise self._unavailable(started_at) from error

    def _pool(self) -> _Pool:
        """This OS thread's pool of connections to the service, made on its first call."""
        pool: _Pool | None = getattr(self._pools, "pool", None)
        if pool is None:
            # A provider reached over https (the payment service's), host name checked, the CAs the
            # library's pool used (the system's file, else certifi's); gevent's context, so the
            # wrapped socket yields to other greenlets as the plain one does.
            context = gevent.ssl.create_default_context(cafile=_CA_FILE) if self.https else None
            pool = _Pool(self.host, self.port, self.connect_timeout, self.idle_kept, context)
            self._pools.pool = pool
        return pool

    @staticmethod
    def _with_request_id(headers: Mapping[str, str] | None) -> dict[str, str]:
        """A copy of ``headers`` carrying this request's id, replacing a client's ``X-Request-Id`` in any case."""
        request_id = current_request_id()
        if not headers:
            return {REQUEST_ID_HEADER: request_id} if request_id else {}
        if not request_id:
            return dict(headers)
        sent_headers = {name: value for name, value in headers.items() if name.lower() != _REQUEST_ID}
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
