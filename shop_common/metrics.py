"""Prometheus metrics every service has, and ``GET /metrics``.

- ``shop_http_request_duration_seconds{route, method, status}``: one histogram per
  answered request; its ``_count`` is the request counter. ``route`` is the URL
  rule's template (``/api/products/<id:product_id>``), never the raw path, so an
  id cannot grow a new series; a request no rule matched is ``unmatched``.
- ``shop_service_call_duration_seconds{target, outcome}``: calls to another
  service (the gateway's relay included), ``outcome`` one of ``ok``, ``4xx``,
  ``5xx``, ``refused``, ``timeout``.
- ``shop_db_connections_in_use`` and ``shop_db_pool_waits_total``: the pool's
  borrowed connections, and the checkouts that found all of them borrowed.

A service of one gunicorn worker (the default) keeps its values in that
process, which answers every scrape. With more workers each has its own
counters, so ``tools/stack.py`` sets ``PROMETHEUS_MULTIPROC_DIR`` for such a
service (``<run dir>/metrics/<service>``, emptied at each start): each worker
writes its values to files there (prometheus_client's multiprocess mode) and a
scrape, whichever worker serves it, adds them all up; gunicorn's ``child_exit``
hook (``shop_common/gunicorn_config.py``) drops an exited worker's gauges. Files
cost more per update than memory (docs/operations.md, Observe it), hence only when needed.

``/metrics`` answers only clients in ``METRICS_ALLOWED_NETWORKS`` (loopback by
default; others get 403) and is neither forwarded nor rate limited.
``METRICS_ENABLED=false`` removes the route and the per-request work.
"""

import ipaddress
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any, cast

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from .errors import ApiError

# Seconds: resolves 1 ms to 500 ms, the range the shop's responses fall in, plus a tail.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_DURATION = Histogram(
    "shop_http_request_duration_seconds",
    "Requests answered, by route template, method and status.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
SERVICE_CALL_DURATION = Histogram(
    "shop_service_call_duration_seconds",
    "Calls to another service, by target and outcome.",
    ["target", "outcome"],
    buckets=LATENCY_BUCKETS,
)
DB_CONNECTIONS_IN_USE = Gauge(
    "shop_db_connections_in_use",
    "Database connections borrowed from the pool.",
    multiprocess_mode="livesum",
)
DB_POOL_WAITS = Counter(
    "shop_db_pool_waits_total",
    "Connection checkouts that found every pooled connection in use.",
)

blueprint = Blueprint("metrics", __name__)


def init_app(app: Flask) -> None:
    """``/metrics`` and the per-request histogram, when ``METRICS_ENABLED``."""
    if not app.config["METRICS_ENABLED"]:
        return
    app.extensions["metrics_networks"] = [
        ipaddress.ip_network(network.strip())
        for network in app.config["METRICS_ALLOWED_NETWORKS"].split(",")
        if network.strip()
    ]
    app.extensions.setdefault("metrics_collectors", [])
    app.after_request(_observe_request)
    app.register_blueprint(blueprint)


def add_collector(app: Flask, collector: Collector) -> None:
    """A collector asked at scrape time (e.g. a count read from the database)."""
    app.extensions.setdefault("metrics_collectors", []).append(collector)


def _observe_request(response: Response) -> Response:
    started_at = g.get("started_at")
    if started_at is not None:
        observe_request(route_label(), request.method, response.status_code, started_at)
    return response


def observe_request(route: str, method: str, status: int, started_at: float) -> None:
    """One answered request into the histogram (the gateway's forwarding below Flask calls it too)."""
    _child(REQUEST_DURATION, _REQUEST_CHILDREN, (route, method, status)).observe(time.perf_counter() - started_at)


# One labelled child per label values, kept here: prometheus_client's ``labels()``
# checks and converts its arguments and takes a lock on every call, several times
# the cost of the observation itself, on every request.
_REQUEST_CHILDREN: dict[tuple[str, str, int], Histogram] = {}
_CALL_CHILDREN: dict[tuple[str, str], Histogram] = {}


def _child(metric: Histogram, children: dict[Any, Histogram], labels: tuple[Any, ...]) -> Histogram:
    child = children.get(labels)
    if child is None:
        child = children[labels] = metric.labels(*labels)
    return child


_ROUTE_LABELS: dict[tuple[str, Any], str] = {}
_ANY_CONVERTER = re.compile(r"<any\([^)]*\):(\w+)>")


def route_label() -> str:
    """The label of the current request's rule: ``unmatched`` when no rule matched."""
    rule = request.url_rule
    if rule is None:
        return "unmatched"
    return rule_label(rule.rule, cast("dict[str, Any]", request.view_args))


def rule_label(rule: str, view_args: Mapping[str, Any]) -> str:
    """The rule's template, an ``any(...)`` part replaced by the value it matched.

    ``/api/<any(users, ...):prefix>/<path:rest>`` becomes ``/api/users/<path:rest>``:
    one series per route prefix, never one per path.
    """
    key = (rule, view_args.get("prefix"))
    label = _ROUTE_LABELS.get(key)
    if label is None:
        label = _ANY_CONVERTER.sub(lambda match: str(view_args[match.group(1)]), rule)
        _ROUTE_LABELS[key] = label
    return label


@blueprint.get("/metrics")
def metrics() -> Response:
    """Every metric of this service, in Prometheus' text format.

    :raise 403: the client's address is outside ``METRICS_ALLOWED_NETWORKS``.
    """
    address = ipaddress.ip_address(request.remote_addr or "0.0.0.0")
    if not any(address in network for network in current_app.extensions["metrics_networks"]):
        raise ApiError(403, "Metrics are only served to the monitoring network.")
    return Response(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)  # it names its charset


def _registry() -> CollectorRegistry:
    """This scrape's registry: every process's values (or this process's), then the scrape-time collectors."""
    registry = CollectorRegistry()
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessMetrics())
    for collector in current_app.extensions["metrics_collectors"]:
        registry.register(collector)
    return registry


class _ProcessMetrics:
    """The process's own registry, as one collector of a scrape's registry."""

    @staticmethod
    def collect() -> Iterable[Metric]:
        return REGISTRY.collect()


def observe_call(target: str, outcome: str, started_at: float) -> None:
    _child(SERVICE_CALL_DURATION, _CALL_CHILDREN, (target, outcome)).observe(time.perf_counter() - started_at)


def call_outcome(status: int) -> str:
    if status >= 500:
        return "5xx"
    return "4xx" if status >= 400 else "ok"


class _PoolUse:
    """This process's borrowed connections: the gauge, and a checkout that finds them all borrowed is a wait."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_use = 0

    def borrow(self, pool_size: int) -> None:
        with self.lock:
            if self.in_use >= pool_size:
                DB_POOL_WAITS.inc()
            self.in_use += 1
        DB_CONNECTIONS_IN_USE.inc()

    def give_back(self) -> None:
        with self.lock:
            self.in_use -= 1
        DB_CONNECTIONS_IN_USE.dec()


pool_use = _PoolUse()
