"""The HTTP edge, over raw sockets, at the gateway and at every service of the real stack.

What the HTTP server refuses before the app sees it (a malformed request line, one too
long, too many or too large headers, a broken chunked body) must come back in the API's
error shape with the right status; a slow client must not hold up the others; no path
is answered with a redirect, and OPTIONS is 204 with Allow.
"""

import json
import socket
import threading
import time

import pytest
import requests

SERVICES = ["gateway", "user", "customer", "product", "transaction"]
# Paths every server has: each service's /health, and a route of its family.
FAMILY = {
    "gateway": "/api/products",
    "user": "/api/users",
    "customer": "/api/customers",
    "product": "/api/products",
    "transaction": "/api/transactions",
}
# A route of each that reads a JSON body.
POSTED = dict(FAMILY, gateway="/api/users/login", user="/api/users/register")


def port_of(stack, service):
    return int(stack.urls[service].rsplit(":", 1)[1])


def exchange(port, raw, timeout=10):
    """Send ``raw`` bytes and read one answer: (status, headers {lower name: value}, body bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            assert chunk, f"connection closed before an answer: {data!r}"
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])
        }
        length = int(headers.get("content-length", 0))
        while len(body) < length:
            chunk = connection.recv(65536)
            assert chunk, "connection closed mid-body"
            body += chunk
    return int(lines[0].split()[1]), headers, body[:length]


def assert_refusal(answer, status):
    code, headers, body = answer
    assert code == status, (code, headers, body[:300])
    assert headers["content-type"] == "application/json", (headers, body[:300])
    document = json.loads(body)
    assert set(document) == {"error", "message"} and document["message"], document


def request_bytes(target, headers=(), method="GET", body=b""):
    lines = [f"{method} {target} HTTP/1.1", "Host: test", *headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@pytest.mark.parametrize("service", SERVICES)
def test_a_request_line_too_long_is_a_json_414(stack, service):
    assert_refusal(exchange(port_of(stack, service), request_bytes("/health/" + "a" * 9000)), 414)


@pytest.mark.parametrize("service", SERVICES)
def test_a_query_too_long_is_a_json_414(stack, service):
    assert_refusal(exchange(port_of(stack, service), request_bytes("/health?q=" + "a" * 9000)), 414)


@pytest.mark.parametrize("service", SERVICES)
def test_too_many_headers_are_a_json_431(stack, service):
    headers = [f"X-Header-{number}: value" for number in range(120)]
    assert_refusal(exchange(port_of(stack, service), request_bytes("/health", headers)), 431)


@pytest.mark.parametrize("service", SERVICES)
def test_a_header_too_long_is_a_json_431(stack, service):
    assert_refusal(exchange(port_of(stack, service), request_bytes("/health", ["X-Big: " + "a" * 70000])), 431)


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /health HTTP/9.9\r\nHost: test\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: test\r\nContent-Length: many\r\n\r\n",
        b"POST /health HTTP/1.1\r\nHost: test\r\nContent-Length: -5\r\n\r\n",
    ],
    ids=["no-method", "http-9.9", "length-not-a-number", "negative-length"],
)
def test_a_malformed_request_is_a_json_400(stack, service, raw):
    assert_refusal(exchange(port_of(stack, service), raw), 400)


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(
    "chunks",
    [b"ZZ\r\n{}\r\n0\r\n\r\n", b"ZZZ\r\nabc\r\n0\r\n\r\n", b"2\r\n{}XX0\r\n\r\n"],
    ids=["size-not-hex", "size-not-hex-3", "no-chunk-end"],
)
def test_a_broken_chunked_body_is_a_json_400(stack, service, admin_headers, chunks):
    raw = (
        request_bytes(
            POSTED[service],
            [
                f"Authorization: {admin_headers['Authorization']}",
                "Content-Type: application/json",
                "Transfer-Encoding: chunked",
            ],
            method="POST",
        )
        + chunks
    )
    assert_refusal(exchange(port_of(stack, service), raw), 400)


@pytest.mark.parametrize("service", SERVICES)
def test_a_slow_client_does_not_hold_up_the_others(stack, service):
    """A client that sends half a request line and waits keeps one connection, not the server."""
    port = port_of(stack, service)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
        slow.sendall(b"GET /hea")
        started = time.monotonic()
        answers = []
        threads = [
            threading.Thread(target=lambda: answers.append(exchange(port, request_bytes("/health")))) for _ in range(5)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert [answer[0] for answer in answers] == [200] * 5
        assert time.monotonic() - started < 5
        slow.sendall(b"lth HTTP/1.1\r\nHost: test\r\n\r\n")
        assert slow.recv(12) == b"HTTP/1.1 200"


@pytest.mark.parametrize("service", SERVICES)
def test_options_is_204_with_allow(stack, service):
    response = requests.options(stack.urls[service] + FAMILY[service], timeout=10)
    assert response.status_code == 204 and response.content == b""
    assert "GET" in response.headers["Allow"] and "Content-Type" not in response.headers


def test_options_through_the_gateway_needs_no_token_and_tells_the_service_methods(stack):
    response = requests.options(stack.gateway + "/api/transactions/5/status", timeout=10)
    assert response.status_code == 204 and "Content-Type" not in response.headers
    assert {method.strip() for method in response.headers["Allow"].split(",")} >= {"PUT", "OPTIONS"}


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("suffix", ["//", "/", "//health//"])
def test_empty_path_segments_are_never_a_redirect(stack, service, suffix):
    path = "/health" + suffix if suffix != "//health//" else suffix
    response = requests.get(stack.urls[service] + path, allow_redirects=False, timeout=10)
    assert response.status_code in (200, 503) and "Location" not in response.headers


def new_product(stack, admin_headers, name, price, stock):
    """A product created through the gateway by the admin: its JSON."""
    body = {"name": name, "price": price, "stock": stock}
    return requests.post(stack.gateway + "/api/products", headers=admin_headers, timeout=10, json=body).json()


def test_an_empty_segment_through_the_gateway_reaches_the_route_without_a_location(stack, admin_headers):
    created = new_product(stack, admin_headers, "Slashes", "1.00", 1)
    for path in (f"/api/products/{created['id']}//", f"/api/products//{created['id']}/"):
        response = requests.get(stack.gateway + path, allow_redirects=False, timeout=10)
        assert response.status_code == 200 and response.json()["id"] == created["id"], path
        assert "Location" not in response.headers
    stray = requests.put(
        stack.gateway + "/api/transactions/999999//status",
        headers=admin_headers,
        json={"status": "cancelled"},
        allow_redirects=False,
        timeout=10,
    )
    assert stray.status_code == 404 and "Location" not in stray.headers


ODD_REQUESTS = {
    "absolute-form": b"GET http://elsewhere.example/health HTTP/1.1\r\nHost: test\r\n\r\n",
    "asterisk-form": b"OPTIONS * HTTP/1.1\r\nHost: test\r\n\r\n",
    "connect": b"CONNECT elsewhere.example:443 HTTP/1.1\r\nHost: test\r\n\r\n",
    "lowercase-method": b"get /health HTTP/1.1\r\nHost: test\r\n\r\n",
    "unknown-method": b"BREW /health HTTP/1.1\r\nHost: test\r\n\r\n",
    "http-1.0-no-host": b"GET /health HTTP/1.0\r\n\r\n",
    "nul-in-path": b"GET /he\x00alth HTTP/1.1\r\nHost: test\r\n\r\n",
    "encoded-nul": b"GET /api/products/%00 HTTP/1.1\r\nHost: test\r\n\r\n",
    "lone-percent": b"GET /api/products/% HTTP/1.1\r\nHost: test\r\n\r\n",
    "not-utf8-path": b"GET /api/products/\xff\xfe HTTP/1.1\r\nHost: test\r\n\r\n",
    "header-without-colon": b"GET /health HTTP/1.1\r\nHost: test\r\nNoColonHere\r\n\r\n",
    "folded-header": b"GET /health HTTP/1.1\r\nHost: test\r\nX-A: one\r\n two\r\n\r\n",
    "two-lengths": b"POST /health HTTP/1.1\r\nHost: test\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    "length-and-chunked": b"POST /health HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "unknown-coding": b"POST /health HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip\r\n\r\n",
    "odd-expect": b"POST /health HTTP/1.1\r\nHost: test\r\nExpect: something\r\nContent-Length: 0\r\n\r\n",
}


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("raw", ODD_REQUESTS.values(), ids=ODD_REQUESTS.keys())
def test_an_odd_request_is_never_a_5xx_nor_outside_json(stack, service, raw):
    """Whatever the server makes of it (served, or refused), the answer is below 500, and JSON."""
    status, headers, body = exchange(port_of(stack, service), raw)
    assert status < 500 or status == 501, (status, body[:300])
    if body:
        assert headers["content-type"] == "application/json", (status, headers, body[:300])
        json.loads(body)


# Words that would name the software serving an answer.
SOFTWARE_NAMES = ("gunicorn", "gevent", "werkzeug", "python", "flask", "pywsgi")


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(
    "raw",
    [
        b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n",
        b"GET /no-such-path HTTP/1.1\r\nHost: test\r\n\r\n",
        b"OPTIONS /health HTTP/1.1\r\nHost: test\r\n\r\n",
        b"GET /health HTTP/1.1\r\n\r\n",
        b"GARBAGE\r\n\r\n",
    ],
    ids=["health", "not-found", "options", "refused-framing", "refused-request-line"],
)
def test_no_server_header_names_the_software(stack, service, raw):
    _, headers, _ = exchange(port_of(stack, service), raw)
    server = headers.get("server", "").lower()
    assert not any(name in server for name in SOFTWARE_NAMES), headers


def test_no_relayed_answer_names_the_software(stack, admin_headers):
    for path in ("/api/users", "/api/customers", "/api/products", "/api/transactions", "/api/users/login"):
        response = requests.get(stack.gateway + path, headers=admin_headers, timeout=10)
        server = response.headers.get("Server", "").lower()
        assert not any(name in server for name in SOFTWARE_NAMES), (path, response.headers)


@pytest.mark.parametrize("service", SERVICES)
def test_metrics_name_one_charset(stack, service):
    response = requests.get(stack.urls[service] + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].lower().count("charset") == 1, response.headers["Content-Type"]


def head_answer(port, path):
    """A HEAD's answer over a raw socket, read until the server closes: (status, headers, any bytes after the head)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request_bytes(path, ["Connection: close"], method="HEAD"))
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, rest


def test_head_through_the_gateway_answers_the_length_of_get_without_the_body(stack, admin_headers):
    created = new_product(stack, admin_headers, "Headed", "2.50", 3)
    for path in (f"/api/products/{created['id']}", "/api/products?limit=5", "/health"):
        got = requests.get(stack.gateway + path, timeout=10)
        assert got.status_code == 200 and got.content, path
        status, headers, body = head_answer(port_of(stack, "gateway"), path)
        assert status == 200 and body == b"", (path, status, body)
        assert headers["content-length"] == str(len(got.content)), (path, headers)
        assert headers["content-type"] == got.headers["Content-Type"], (path, headers)


def test_head_then_get_on_one_connection_through_the_gateway(stack):
    """The HEAD's answer carries no body bytes: what follows its head is the GET's answer."""
    raw = request_bytes("/api/products", method="HEAD") + request_bytes("/api/products", ["Connection: close"])
    with socket.create_connection(("127.0.0.1", port_of(stack, "gateway")), timeout=10) as connection:
        connection.sendall(raw)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    assert received.partition(b"\r\n\r\n")[2].startswith(b"HTTP/1.1 200"), received[:500]


def allowed(response):
    return {method.strip() for method in response.headers["Allow"].split(",")}


@pytest.mark.parametrize("service", ["gateway", "user"])
@pytest.mark.parametrize("path", ["/api/users/login", "/api/users/register", "/api/users/refresh"])
def test_options_lists_only_the_methods_the_route_serves(stack, service, path):
    response = requests.options(stack.urls[service] + path, timeout=10)
    assert response.status_code == 204, response.text
    assert allowed(response) == {"POST", "OPTIONS"}, response.headers["Allow"]


@pytest.mark.parametrize("service", ["gateway", "user"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_a_method_a_route_does_not_serve_is_a_405_listing_those_it_does(stack, service, method):
    response = requests.request(method, stack.urls[service] + "/api/users/login", timeout=10)
    assert response.status_code == 405, response.text
    assert response.json()["error"] == "method_not_allowed"
    assert allowed(response) == {"POST", "OPTIONS"}, response.headers["Allow"]


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/products", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("/api/products/1", {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}),
        ("/api/transactions/1/status", {"PUT", "OPTIONS"}),
    ],
)
def test_options_through_the_gateway_lists_what_the_service_serves(stack, path, methods):
    assert allowed(requests.options(stack.gateway + path, timeout=10)) == methods
