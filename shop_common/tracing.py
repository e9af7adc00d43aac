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
service (urllib3, under both ``requests`` and the gateway's relay, which puts
``traceparent`` on the call) and one per SQL statement (PyMySQL). ``/health`` and
``/metrics`` are not traced: monitors poll them.

Nothing of OpenTelemetry is imported while tracing is off, not even its API: it
would cost every process memory for spans it never records.
"""

import os
from functools import partial

from flask import Flask

from . import lifecycle

EXCLUDED_URLS = "/health,/metrics"

_configured: list[str] = []


def enabled() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def init_app(app: Flask, service: str) -> bool:
    """Trace ``app``'s requests, and once per process its outgoing calls and SQL. False when tracing is off.

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
    from opentelemetry.instrumentation.urllib3 import URLLib3Instrumentor

    URLLib3Instrumentor().instrument(excluded_urls=EXCLUDED_URLS)
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
    """The 32-hex-digit id of the trace being recorded, or ``-``; called only when tracing is on."""
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else "-"
