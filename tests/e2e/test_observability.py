"""Metrics, traces, JSON logs and a real Prometheus, on a stack of their own.

That stack is the session stack's settings plus: traces exported over OTLP/HTTP
to a receiver in this test (every span of every process, decoded, kept in
memory), ``LOG_FORMAT=json``, rate limits on, and the product service in two
gunicorn workers, so a scrape must add up both processes' counts.
"""

import gzip
import json
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from shop_common.settings import SERVICES
from tests.stacks import ADMIN_PASSWORD, ADMIN_USERNAME, started_stack
from tests.support import free_port, send_answer, unique_name
from tools import monitor

PER_USER_LIMIT = 40
SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


class SpanReceiver(ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver (``POST /v1/traces``, protobuf) keeping every span it is sent."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", free_port()), _ReceiverHandler)
        self.spans = []
        self.lock = threading.Lock()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def spans_of_trace(self, trace_id):
        with self.lock:
            return [span for span in self.spans if span["trace_id"] == trace_id]


class _ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest.FromString(body)
        received = [
            _span(resource_spans.resource, span)
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]
        with self.server.lock:
            self.server.spans.extend(received)
        answer = ExportTraceServiceResponse().SerializeToString()
        send_answer(self, 200, answer, [("Content-Type", "application/x-protobuf")])

    def log_message(self, *args):
        pass


def _span(resource, span):
    attributes = {a.key: a.value.string_value or a.value.int_value for a in span.attributes}
    service = next(a.value.string_value for a in resource.attributes if a.key == "service.name")
    return {
        "service": service,
        "name": span.name,
        "kind": span.kind,
        "attributes": attributes,
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_span_id": span.parent_span_id.hex(),
    }


@pytest.fixture(scope="module")
def receiver():
    server = SpanReceiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def observed(receiver, tmp_path_factory):
    settings = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
        "LOG_FORMAT": "json",
        "RATELIMIT_ENABLED": "true",
        "RATELIMIT_DEFAULT": f"{PER_USER_LIMIT} per minute",
        "RATELIMIT_LOGIN": "100 per minute",
    }
    with started_stack("obs", settings, {"product": {"GUNICORN_WORKERS": "2"}}) as running:
        yield running


# --- helpers -----------------------------------------------------------------------------------


def scrape(url):
    """``{(name, frozenset of label pairs): value}`` from a ``/metrics`` answer."""
    response = requests.get(url + "/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for line in response.text.splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            labels = frozenset(LABEL.findall(match["labels"] or ""))
            samples[(match["name"], labels)] = float(match["value"])
    return samples


def total(samples, name, **labels):
    """The sum of ``name``'s samples carrying all of ``labels``."""
    wanted = {(key, str(value)) for key, value in labels.items()}
    return sum(value for (sample, pairs), value in samples.items() if sample == name and wanted <= pairs)


def moved(before, after, name, **labels):
    return total(after, name, **labels) - total(before, name, **labels)


def call(stack, method, path, **kwargs):
    kwargs.setdefault("timeout", 15)
    return requests.request(method, stack.gateway + path, **kwargs)


def log_in(stack, username, password):
    response = call(stack, "POST", "/api/users/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def admin(observed):
    return log_in(observed, ADMIN_USERNAME, ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def product_id(observed, admin):
    response = call(
        observed, "POST", "/api/products", headers=admin, json={"name": "Lamp", "price": "12.50", "stock": 5}
    )
    assert response.status_code == 201, response.text
    return response.json()["productId"]


def new_shopper(stack):
    """A registered, logged-in user with a customer profile: ``(headers, customer id)``."""
    username, password = unique_name(), "a-good-password"
    response = call(stack, "POST", "/api/users/register", json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    user_id = response.json()["id"]
    headers = log_in(stack, username, password)
    response = call(
        stack,
        "POST",
        "/api/customers",
        headers=headers,
        json={"userId": user_id, "name": "Ann", "email": f"{username}@example.com"},
    )
    assert response.status_code == 201, response.text
    return headers, response.json()["customerId"]


def order(stack, headers, customer_id, product, quantity=1, **extra):
    return call(
        stack,
        "POST",
        "/api/transactions",
        headers={**headers, **extra},
        json={"customerId": customer_id, "items": [{"productId": product, "quantity": quantity}]},
    )


# --- metrics -----------------------------------------------------------------------------------


def test_a_journey_moves_the_order_reservation_and_request_counters_as_it_should(observed, product_id):
    (alice, alice_customer), (bob, _) = new_shopper(observed), new_shopper(observed)
    urls = observed.urls
    before = {service: scrape(urls[service]) for service in ("gateway", "transaction", "product")}

    key = {"Idempotency-Key": str(uuid.uuid4())}
    assert order(observed, alice, alice_customer, product_id, **key).status_code == 201
    replay = order(observed, alice, alice_customer, product_id, **key)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert order(observed, alice, alice_customer, product_id, quantity=999).status_code == 409
    assert order(observed, bob, alice_customer, product_id).status_code == 403
    assert call(observed, "POST", "/api/transactions", headers=alice, json={"items": []}).status_code == 400

    after = {service: scrape(urls[service]) for service in ("gateway", "transaction", "product")}
    transaction, product, gateway = (
        lambda name, service=service, **labels: moved(before[service], after[service], name, **labels)
        for service in ("transaction", "product", "gateway")
    )
    assert transaction("shop_orders_created_total") == 1
    assert transaction("shop_idempotent_replays_total") == 1
    for reason in ("stock", "ownership", "validation"):
        assert transaction("shop_orders_refused_total", reason=reason) == 1, reason
    assert transaction("shop_orders_refused_total") == 3
    assert product("shop_stock_reservations_total", event="held") == 1
    assert product("shop_stock_reservations_total", event="refused") == 1
    # The reserve of the order, and the release that follows the refused one (the saga's compensation).
    assert transaction("shop_service_call_duration_seconds_count", target="product", outcome="ok") == 2
    assert transaction("shop_service_call_duration_seconds_count", target="product", outcome="4xx") == 1

    requests_at = {"route": "/api/transactions", "method": "POST"}
    for status, count in ((201, 2), (409, 1), (403, 1), (400, 1)):
        assert gateway("shop_http_request_duration_seconds_count", status=status, **requests_at) == count
        assert transaction("shop_http_request_duration_seconds_count", status=status, **requests_at) == count
    assert gateway("shop_service_call_duration_seconds_count", target="transaction") == 5
    assert gateway("shop_http_request_duration_seconds_bucket", le="+Inf", **requests_at) == 5
    routes = {dict(pairs).get("route") for (_, pairs) in after["gateway"]} - {None}
    assert not [route for route in routes if re.search(r"/\d", route)], routes


def test_a_429_is_counted_by_its_limit(observed):
    headers, customer_id = new_shopper(observed)
    before = scrape(observed.gateway)
    statuses = [
        call(observed, "GET", f"/api/customers/{customer_id}", headers=headers).status_code
        for _ in range(PER_USER_LIMIT)
    ]
    refused = statuses.count(429)
    assert refused >= 1 and set(statuses) == {200, 429}, statuses
    after = scrape(observed.gateway)
    assert moved(before, after, "shop_rate_limited_total", limit="default") == refused
    assert moved(before, after, "shop_http_request_duration_seconds_count", status=429) == refused
    assert call(observed, "GET", "/metrics").status_code == 200  # never limited


def test_one_scrape_adds_up_every_worker_of_a_service(observed, product_id):
    """The product service runs two gunicorn workers; its counts are the sum of both."""
    url = observed.urls["product"]
    before = scrape(url)
    with ThreadPoolExecutor(16) as pool:
        statuses = list(
            pool.map(lambda _: requests.get(f"{url}/api/products/{product_id}", timeout=15).status_code, range(200))
        )
    assert statuses == [200] * 200
    after = scrape(url)
    route = {"route": "/api/products/<id:product_id>", "method": "GET", "status": 200}
    assert moved(before, after, "shop_http_request_duration_seconds_count", **route) == 200
    writers = {
        path.stem.rsplit("_", 1)[-1] for path in (observed.run_dir / "metrics" / "product").glob("histogram_*.db")
    }
    assert len(writers) == 2, writers
    assert total(after, "shop_db_connections_in_use") == 0
    assert ("shop_db_pool_waits_total", frozenset()) in after


def test_a_saga_step_that_fails_is_counted_and_the_sweeper_settles_it(observed, product_id):
    """The product service is stopped: the reservation fails, so does the release behind it.

    Once it is back, the sweeper settles the order.
    """
    headers, customer_id = new_shopper(observed)
    url = observed.urls["transaction"]
    before = scrape(url)
    observed.stop("product")
    try:
        assert order(observed, headers, customer_id, product_id).status_code == 503
    finally:
        observed.start("product")
    deadline = time.monotonic() + 40  # SAGA_STALE_SECONDS (8) and a sweep or two
    while moved(before, scrape(url), "shop_saga_orders_settled_total") < 1 and time.monotonic() < deadline:
        time.sleep(0.5)
    after = scrape(url)
    assert moved(before, after, "shop_saga_orders_settled_total") == 1
    assert moved(before, after, "shop_saga_steps_failed_total", step="reserve") == 1
    assert moved(before, after, "shop_saga_steps_failed_total", step="release") >= 1
    assert moved(before, after, "shop_saga_steps_retried_total", step="release") >= 1
    assert moved(before, after, "shop_orders_refused_total", reason="unavailable") == 1
    assert moved(before, after, "shop_orders_created_total") == 0
    assert total(after, "shop_saga_orders_stuck") == 0


# --- traces and logs ---------------------------------------------------------------------------


def wait_for_trace(receiver, trace_id, services, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        spans = receiver.spans_of_trace(trace_id)
        if services <= {span["service"] for span in spans} and any(
            span["service"] == "shop-gateway" and span["kind"] == 2 for span in spans
        ):
            time.sleep(0.5)  # the rest of the batch
            return receiver.spans_of_trace(trace_id)
        time.sleep(0.1)
    pytest.fail(f"trace {trace_id} incomplete: {receiver.spans_of_trace(trace_id)}")


SERVER, CLIENT = 2, 3
FOUR_SERVICES = {"shop-gateway", "shop-transaction", "shop-customer", "shop-product"}


def test_one_order_through_the_gateway_is_one_trace_across_four_services(observed, receiver, product_id):
    headers, customer_id = new_shopper(observed)
    trace_id, client_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    response = order(observed, headers, customer_id, product_id, traceparent=f"00-{trace_id}-{client_span}-01")
    assert response.status_code == 201, response.text
    spans = wait_for_trace(receiver, trace_id, FOUR_SERVICES)
    by_id = {span["span_id"]: span for span in spans}

    def parent(span):
        return by_id.get(span["parent_span_id"])

    servers = {span["service"]: span for span in spans if span["kind"] == SERVER}
    assert set(servers) == FOUR_SERVICES, spans
    assert servers["shop-gateway"]["parent_span_id"] == client_span
    # Each service's request span hangs under a call span of its caller, which hangs under the caller's request.
    for callee, caller in (
        ("shop-transaction", "shop-gateway"),
        ("shop-customer", "shop-transaction"),
        ("shop-product", "shop-transaction"),
    ):
        call_span = parent(servers[callee])
        assert call_span is not None and call_span["service"] == caller and call_span["kind"] == CLIENT, callee
        assert parent(call_span) is servers[caller], callee
    for span in spans:
        assert span is servers["shop-gateway"] or parent(span) is not None, span
    sql = [span for span in spans if span["attributes"].get("db.system") == "mysql"]
    assert {span["service"] for span in sql} >= {"shop-transaction", "shop-customer", "shop-product"}
    for span in sql:
        assert parent(span) is servers[span["service"]], span


def log_lines(stack, service, since=0):
    """The service's log lines from character ``since`` on, each one JSON object (gunicorn's own too)."""
    return [json.loads(line) for line in stack.log(service)[since:].splitlines() if line]


def test_json_log_lines_parse_and_carry_the_request_and_trace_ids(observed, receiver, product_id):
    logged = {service: len(observed.log(service)) for service in observed.urls}
    headers, customer_id = new_shopper(observed)
    request_id = f"obs-{uuid.uuid4().hex}"
    response = order(observed, headers, customer_id, product_id, **{"X-Request-ID": request_id})
    assert response.status_code == 201, response.text
    (gateway_line,) = [
        line
        for line in log_lines(observed, "gateway", logged["gateway"])
        if line["request_id"] == request_id and line["logger"] == "access"
    ]
    trace_id = gateway_line["trace_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id), gateway_line  # started at the gateway
    assert gateway_line["method"] == "POST" and gateway_line["path"] == "/api/transactions"
    assert gateway_line["status"] == 201 and gateway_line["service"] == "gateway"
    assert isinstance(gateway_line["duration_ms"], float) and gateway_line["user"] != "-"
    assert {"time", "level", "message"} <= gateway_line.keys()
    for service in ("transaction", "customer", "product"):
        mine = [line for line in log_lines(observed, service, logged[service]) if line["request_id"] == request_id]
        assert mine and all(line["trace_id"] == trace_id for line in mine), (service, mine)
    assert wait_for_trace(receiver, trace_id, FOUR_SERVICES)


# --- a real Prometheus -------------------------------------------------------------------------


def test_prometheus_scrapes_every_service_as_up(observed, tmp_path):
    port = free_port()
    targets = {service: url.removeprefix("http://") for service, url in observed.urls.items()}
    monitor.start(targets, port, tmp_path, scrape_interval="1s")
    try:
        api = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            active = requests.get(f"{api}/targets", timeout=5).json()["data"]["activeTargets"]
            if len(active) == 5 and all(target["health"] == "up" for target in active):
                break
            time.sleep(0.5)
        assert sorted(target["labels"]["service"] for target in active) == sorted(SERVICES), active
        assert all(target["health"] == "up" for target in active), active
        answer = requests.get(f"{api}/query", params={"query": "sum(shop_orders_created_total)"}, timeout=5).json()
        assert float(answer["data"]["result"][0]["value"][1]) >= 1, answer
    finally:
        assert monitor.stop(tmp_path)
