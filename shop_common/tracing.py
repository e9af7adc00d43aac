"""OpenTelemetry traces, off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set.

When on, each process exports its spans over OTLP/HTTP (batched, in the
background) and is configured by the standard ``OTEL_*`` variables of its
environment, as the SDK reads them: ``OTEL_TRACES_SAMPLER`` /
``OTEL_TRACES_SAMPLER_ARG`` (default ``parentbased_always_on``; at the gateway
``parentbased_traceidratio`` with ``0.1`` keeps one trace in ten, and the services
follow the gateway's decision), ``OTEL_SERVICE_NAME`` (default ``shop-<service>``),
``OTEL_BSP_*`` for batching. These are read from the environment only, not from
the ``.env`` files.

The spans: one per request served (Flask; a W3C ``traceparent`` from the client
is continued, otherwise the gateway starts the trace), one per call to another
service and per request the gateway relays (:func:`client_span`, made by
shop_common/http_client.py, which puts ``traceparent`` on the call) and one per
SQL statement (PyMySQL). ``/health`` and ``/metrics`` are not traced: monitors
poll them. OpenTelemetry is imported only when tracing is on.
"""

import os
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from . import lifecycle

EXCLUDED_URLS = "/health,/metrics"
# Headers of the trace a call carries: the caller's own, not those a client sent the gateway.
_TRACE_HEADERS = frozenset({"traceparent", "tracestate"})
_UNTRACED_PATHS = frozenset(EXCLUDED_URLS.split(","))

_configured: list[str] = []


def enabled() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def init_app(app: Flask, service: str) -> bool:
    """Trace ``app``'s requests, and once per process its SQL (calls: :func:`client_span`). False when tracing is off.

    The exporter sends from a thread of its own, so it is made in each worker as
    it starts, before its first request (:func:`shop_common.lifecycle.on_worker_start`).
    """
    if not enabled():
        return False
    if not _configured:
        _instrument_libraries()
        lifecycle.on_worker_start(app, partial(_export_spans, service))
        _configured.append(service)
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    FlaskInstrumentor().instrument_app(app, excluded_urls=EXCLUDED_URLS, enable_commenter=False)
    return True


def _instrument_libraries() -> None:
    from opentelemetry.instrumentation.pymysql import PyMySQLInstrumentor

    PyMySQLInstrumentor().instrument()


def _export_spans(service: str) -> None:
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or f"shop-{service}"})
    provider = TracerProvider(resource=resource)  # the sampler comes from OTEL_TRACES_SAMPLER
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def current_trace_id() -> str:
    """The 32-hex-digit id of the trace being recorded, or ``-``."""
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else "-"


def traces_call(target: str) -> bool:
    """Whether a call to ``target`` (path and query) is traced: not one to a monitor's route."""
    return target.partition("?")[0] not in _UNTRACED_PATHS


@contextmanager
def client_span(method: str, url: str, headers: MutableMapping[str, str]) -> Iterator[Any]:
    """A client span around a call to ``url``, its ``traceparent`` (and ``tracestate``) put in ``headers``.

    The attributes are OpenTelemetry's HTTP client conventions; an exception out of the call ends
    the span as an error (:func:`end_client_span` for a response).
    """
    from opentelemetry import propagate, trace

    for name in [name for name in headers if name.lower() in _TRACE_HEADERS]:
        del headers[name]
    parts = urlsplit(url)
    attributes: dict[str, str | int] = {
        "http.request.method": method,
        "url.full": url,
        "server.address": parts.hostname or "",
        "server.port": parts.port or (443 if parts.scheme == "https" else 80),
    }
    tracer = trace.get_tracer(__name__)
    with tracer.start_as_current_span(method, kind=trace.SpanKind.CLIENT, attributes=attributes) as span:
        propagate.inject(headers)
        yield span


def end_client_span(span: Any, status: int) -> None:
    """Record the response's status on a :func:`client_span`; a 5xx is an error, as the conventions say."""
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
