"""Forwarding: a request goes on as it came and the response comes back unchanged; bodies, paths, methods."""

import http.client
import json
import uuid

import pytest
import requests

from tests.e2e.gateway_helpers import (
    MIB,
    assert_json_error,
    own_gateway,
    request_id,
)
from tests.e2e.upstreams import RecordingService, answer_header_values

# --- 1. forwarding ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recorder():
    with RecordingService() as service:
        yield service


@pytest.fixture(scope="module")
def recording_gateway(stack, recorder, tmp_path_factory):
    """A gateway whose product service is the recorder."""
    with own_gateway(stack, tmp_path_factory.mktemp("recording"), PRODUCT_SERVICE_URL=recorder.url) as url:
        yield url


def test_a_request_goes_on_byte_for_byte_and_the_answer_comes_back_unchanged(
    recording_gateway, recorder, admin_headers
):
    query = "q=caf%C3%A9&tags=a,b&empty=&plus=1+2&slash=%2F"
    body = '{"name": "Crème brûlée ☕", "description": "北京 — naïve"}'.encode()
    sent_id = request_id("forward")
    response = requests.put(
        f"{recording_gateway}/api/products/7?{query}",
        data=body,
        timeout=10,
        headers={
            **admin_headers,
            "Content-Type": "application/json; charset=utf-8",
            "X-Request-ID": sent_id,
            "X-Forwarded-For": "203.0.113.9",
            "X-Custom": "kept",
            "Connection": "keep-alive, X-Hop",
            "X-Hop": "dropped",
            "Keep-Alive": "timeout=5",
            "Proxy-Authorization": "Basic dropped",
        },
    )

    received = recorder.received[-1]
    assert (received.method, received.target, received.body) == ("PUT", f"/api/products/7?{query}", body)
    assert received.headers["Authorization"] == admin_headers["Authorization"]
    assert received.headers["Content-Type"] == "application/json; charset=utf-8"
    assert received.headers["Content-Length"] == str(len(body))
    assert received.headers["X-Custom"] == "kept"
    assert received.headers["X-Request-ID"] == sent_id
    assert received.headers["X-Forwarded-For"] == "203.0.113.9, 127.0.0.1"
    assert received.headers["Host"] == recorder.url.removeprefix("http://")
    for hop_by_hop in ("X-Hop", "Keep-Alive", "Proxy-Authorization"):
        assert hop_by_hop not in received.headers

    assert response.status_code == RecordingService.ANSWER_STATUS
    assert response.content == RecordingService.ANSWER_BODY
    for name, _ in RecordingService.ANSWER_HEADERS:  # each line as sent: two Set-Cookie stay two
        assert response.raw.headers.getlist(name) == answer_header_values(name)
    assert response.headers["X-Request-ID"] == sent_id


def test_a_gzipped_answer_comes_back_as_the_service_sent_it(recording_gateway):
    response = requests.get(
        recording_gateway + RecordingService.GZIPPED_PATH, headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10
    )
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Content-Length"] == str(len(RecordingService.GZIPPED_BODY))
    assert response.raw.read(decode_content=False) == RecordingService.GZIPPED_BODY


def test_the_gateway_keeps_its_connections_to_a_service_open(recording_gateway, recorder):
    for _ in range(3):
        assert requests.get(recording_gateway + "/api/products", timeout=10).status_code == 207
    assert len({received.client_port for received in recorder.received[-3:]}) == 1


def test_a_cookie_an_answer_sets_goes_to_its_client_and_never_with_another_request(recording_gateway, recorder):
    first = requests.get(recording_gateway + "/api/products", timeout=10)
    assert first.raw.headers.getlist("Set-Cookie") == answer_header_values("Set-Cookie")
    requests.get(recording_gateway + "/api/products", timeout=10)
    assert "Cookie" not in recorder.received[-1].headers


def test_a_non_ascii_product_and_search_round_trip_through_the_real_service(api, admin_headers):
    name = f"Crème brûlée ☕ 北京 {uuid.uuid4().hex[:8]}"
    created = api.post("/api/products", headers=admin_headers, json={"name": name, "price": "4.50"})
    assert created.status_code == 201, created.text
    assert api.get(f"/api/products/{created.json()['productId']}").json()["name"] == name
    found = api.get("/api/products", params={"q": name.split()[-1], "limit": 5})
    assert [product["name"] for product in found.json()] == [name]


# --- 5. bodies, media types, unknown paths, wrong methods ------------------------------------


def product_body(size):
    """A product as JSON of exactly ``size`` bytes; its name makes it that big."""
    envelope = len(json.dumps({"name": "", "price": "1.00"}))
    body = json.dumps({"name": "x" * (size - envelope), "price": "1.00"}).encode()
    assert len(body) == size
    return body


def chunked(body, size=64 * 1024):
    """``body`` as a generator, which requests sends chunked, without a Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("length", [2 * MIB, MIB + 1])
@pytest.mark.parametrize("framing", ["content_length", "chunked"])
def test_a_body_over_1_mib_is_refused_and_never_reaches_a_service(stack, admin_headers, length, framing):
    too_big = product_body(length)
    for path, service, headers in (("/api/products", "product", admin_headers), ("/api/users/login", "user", {})):
        sent_id = request_id("too-big")
        # A connection of its own each: gunicorn closes one whose request body was left unread.
        response = requests.post(
            stack.gateway + path,
            data=too_big if framing == "content_length" else chunked(too_big),
            headers={**headers, "X-Request-ID": sent_id, "Content-Type": "application/json"},
            timeout=10,
        )
        assert_json_error(response, 413, "payload_too_large")
        assert sent_id not in stack.log(service), path


@pytest.mark.parametrize("framing", ["content_length", "chunked"])
def test_a_body_of_exactly_1_mib_is_forwarded(api, stack, admin_headers, framing):
    exactly = product_body(MIB)
    sent_id = request_id("one-mib")
    response = api.post(
        "/api/products",
        data=exactly if framing == "content_length" else chunked(exactly),
        headers={**admin_headers, "X-Request-ID": sent_id, "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and "name" in response.json()["fields"]  # too long a name
    assert sent_id in stack.log("product")


def test_a_body_that_is_not_json_is_a_json_415_from_the_service(api, stack, admin_headers):
    # The gateway forwards it: which routes take which bodies is each service's business.
    for path, service, headers in (("/api/users/register", "user", {}), ("/api/products", "product", admin_headers)):
        sent_id = request_id("not-json")
        response = api.post(
            path,
            data="name=mug&price=1",
            headers={**headers, "X-Request-ID": sent_id, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert_json_error(response, 415, "unsupported_media_type")
        assert sent_id in stack.log(service)


def test_unknown_paths_are_json_404s(api):
    for path in ("/nowhere", "/api", "/api/nowhere", "/api/nowhere/1", "/api/users-and-more"):
        assert_json_error(api.get(path), 404, "not_found")


@pytest.mark.parametrize(
    "target",
    [
        "/api/products/../../internal/reservations",
        "/api/products/%2e%2e/%2E%2E/internal/reservations",
        "/api/customers/1/../../../internal/customers/1",
    ],
)
def test_a_path_climbing_out_of_its_prefix_is_a_404_at_the_gateway(stack, admin_headers, target):
    sent_id = request_id("climb")
    host, port = stack.gateway.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", target, headers={**admin_headers, "X-Request-ID": sent_id})
        response = connection.getresponse()
        assert response.status == 404 and json.loads(response.read())["error"] == "not_found"
    finally:
        connection.close()
    for service in ("customer", "product"):
        assert sent_id not in stack.log(service)


def test_wrong_methods_are_json_405s_from_the_gateway_or_the_service(api, admin_headers):
    for method, path, headers in (
        ("POST", "/health", {}),  # the gateway's own route
        ("TRACE", "/api/products", {}),  # a method the gateway does not forward
        ("DELETE", "/api/users", admin_headers),  # forwarded: the user service answers
        ("PATCH", "/api/products/1", admin_headers),  # forwarded: the product service answers
    ):
        response = api.request(method, path, headers=headers)
        assert_json_error(response, 405, "method_not_allowed")
        assert method not in response.headers["Allow"] and "GET" in response.headers["Allow"], path
