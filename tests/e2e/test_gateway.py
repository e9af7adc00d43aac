"""The gateway as a client meets it: forwarding, the door, request ids, rate limits, sizes, failures.

Most tests go through the session stack's gateway. Those that need other
settings (limits on, a service stopped or hung, a recording stand-in for a
service) start a gateway process of their own beside it, with the same
launcher and the stack's settings plus theirs, and stop it after.
"""
import http.client
import json
import re
import socketserver
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import requests

from tests.support import TEST_JWT_SECRET, free_port, unique_name
from tools import stack as launcher

MIB = 1024 * 1024


# --- a gateway of one's own, and stand-ins for a service -----------------------------------

@contextmanager
def own_gateway(stack, run_dir, **settings):
    """A gateway process on a free port with the stack's settings changed by ``settings``; yields its URL.

    It is ready when ``/`` answers (its ``/health`` may be 503 on purpose).
    """
    environment = dict(stack.environments["gateway"], PORT=str(free_port()), **settings)
    url = f"http://127.0.0.1:{environment['PORT']}"
    launcher.start_service("gateway", environment, run_dir)
    try:
        deadline = time.monotonic() + 20
        while not _answers(url):
            if time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start:\n" + gateway_log(run_dir)[-3000:])
            time.sleep(0.1)
        yield url
    finally:
        launcher.stop_service("gateway", run_dir)


def _answers(url):
    try:
        return requests.get(url + "/", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def gateway_log(run_dir):
    return launcher.log_file(run_dir, "gateway").read_text(errors="replace")


@dataclass
class Received:
    method: str
    target: str
    headers: object
    body: bytes
    client_port: int


class RecordingService(ThreadingHTTPServer):
    """Stands in for a service: records each request as it arrived and gives one odd answer."""

    daemon_threads = True
    ANSWER_STATUS = 207
    ANSWER_HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("X-Upstream", "recorder"), ("ETag", '"v1"'),
                      ("Set-Cookie", "session=for-one-client-only; Path=/"), ("Set-Cookie", "theme=dark; Path=/")]
    ANSWER_BODY = "not JSON, kept as sent: ☕ {".encode()

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.received = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_port}"

    def close(self):
        self.shutdown()
        self.server_close()


def answer_header_values(name):
    return [value for header, value in RecordingService.ANSWER_HEADERS if header == name]


class _RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the services speak

    def record_and_answer(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append(Received(self.command, self.path, self.headers, body, self.client_address[1]))
        self.send_response(self.server.ANSWER_STATUS)
        for name, value in self.server.ANSWER_HEADERS:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(self.server.ANSWER_BODY)))
        self.end_headers()
        self.wfile.write(self.server.ANSWER_BODY)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = record_and_answer

    def log_message(self, format, *args):
        """Quiet: the assertions say what matters."""


class HungService(socketserver.ThreadingTCPServer):
    """Accepts connections and never answers, like a service stuck on a lock."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _SilentHandler)
        self.closing = threading.Event()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self):
        self.closing.set()
        self.shutdown()
        self.server_close()


class _SilentHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.server.closing.wait()


# --- tokens and users ------------------------------------------------------------------------

def token(key=TEST_JWT_SECRET, algorithm="HS256", lifetime=600):
    """An admin's JWT shaped like the user service's, for the door to judge."""
    now = int(time.time())
    payload = {"sub": "1", "role": "admin", "type": "access", "fresh": False, "jti": uuid.uuid4().hex,
               "iat": now - 10, "nbf": now - 10, "exp": now + lifetime}
    return jwt.encode(payload, key, algorithm=algorithm)


BAD_TOKENS = {
    "forged": lambda: token(key="not-the-secret-but-just-as-long-0123456789abcdef"),
    "alg_none": lambda: token(key=None, algorithm="none"),
    "expired": lambda: token(lifetime=-60),
}


def new_user(api):
    """A customer registered and logged in through the stack's gateway: (user id, headers)."""
    username, password = unique_name(), "gateway-password-1"
    registered = api.post("/api/users/register", json={"username": username, "password": password})
    assert registered.status_code == 201, registered.text
    login = api.post("/api/users/login", json={"username": username, "password": password})
    assert login.status_code == 200, login.text
    return registered.json()["userId"], {"Authorization": f"Bearer {login.json()['access_token']}"}


@pytest.fixture
def user(api):
    return new_user(api)


def request_id(tag):
    return f"{tag}-{uuid.uuid4().hex}"


def assert_json_error(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    assert body["error"] == code and isinstance(body["message"], str) and body["message"], body
    return body


# --- 1. forwarding ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def recorder():
    service = RecordingService()
    yield service
    service.close()


@pytest.fixture(scope="module")
def recording_gateway(stack, recorder, tmp_path_factory):
    """A gateway whose product service is the recorder."""
    with own_gateway(stack, tmp_path_factory.mktemp("recording"), PRODUCT_SERVICE_URL=recorder.url) as url:
        yield url


def test_a_request_goes_on_byte_for_byte_and_the_answer_comes_back_unchanged(
        recording_gateway, recorder, admin_headers):
    query = "q=caf%C3%A9&tags=a,b&empty=&plus=1+2&slash=%2F"
    body = '{"name": "Crème brûlée ☕", "description": "北京 — naïve"}'.encode()
    sent_id = request_id("forward")
    response = requests.put(
        f"{recording_gateway}/api/products/7?{query}", data=body, timeout=10,
        headers={**admin_headers, "Content-Type": "application/json; charset=utf-8",
                 "X-Request-ID": sent_id, "X-Forwarded-For": "203.0.113.9", "X-Custom": "kept",
                 "Connection": "keep-alive, X-Hop", "X-Hop": "dropped", "Keep-Alive": "timeout=5",
                 "Proxy-Authorization": "Basic dropped"},
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


# --- 2. the door -----------------------------------------------------------------------------

# Every protected route (README, API), and the service that owns it.
PROTECTED_ROUTES = [
    ("GET", "/api/users", "user"), ("GET", "/api/users/1", "user"),
    ("PUT", "/api/users/1", "user"), ("DELETE", "/api/users/1", "user"),
    ("POST", "/api/customers", "customer"), ("GET", "/api/customers", "customer"),
    ("GET", "/api/customers/1", "customer"), ("PUT", "/api/customers/1", "customer"),
    ("DELETE", "/api/customers/1", "customer"), ("GET", "/api/customers/user/1", "customer"),
    ("POST", "/api/products", "product"), ("PUT", "/api/products/1", "product"),
    ("DELETE", "/api/products/1", "product"),
    ("POST", "/api/transactions", "transaction"), ("GET", "/api/transactions", "transaction"),
    ("GET", "/api/transactions/1", "transaction"), ("GET", "/api/transactions/customer/1", "transaction"),
    ("PUT", "/api/transactions/1/status", "transaction"), ("DELETE", "/api/transactions/1", "transaction"),
]


@pytest.mark.parametrize("credentials", ["none", *BAD_TOKENS])
def test_every_protected_route_is_refused_at_the_door_without_a_valid_token(api, stack, credentials):
    headers = {} if credentials == "none" else {"Authorization": f"Bearer {BAD_TOKENS[credentials]()}"}
    sent = []
    for method, path, service in PROTECTED_ROUTES:
        sent_id = request_id(f"door-{credentials}")
        response = api.request(method, path, json={}, headers={**headers, "X-Request-ID": sent_id})
        assert_json_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"] == "Bearer"
        sent.append((sent_id, service))
    gateway_log, service_logs = stack.log("gateway"), {}
    for sent_id, service in sent:
        service_logs.setdefault(service, stack.log(service))
        assert sent_id in gateway_log and sent_id not in service_logs[service], (sent_id, service)


@pytest.mark.parametrize("credentials", ["none", "expired"])
def test_public_routes_reach_their_service_with_or_without_a_token(api, stack, credentials):
    headers = {} if credentials == "none" else {"Authorization": f"Bearer {BAD_TOKENS[credentials]()}"}
    for method, path, status, service in (
        ("POST", "/api/users/register", 400, "user"),
        ("POST", "/api/users/login", 400, "user"),
        ("GET", "/api/products", 200, "product"),
        ("GET", "/api/products/999999999", 404, "product"),
    ):
        sent_id = request_id("public")
        response = api.request(method, path, json={}, headers={**headers, "X-Request-ID": sent_id})
        assert response.status_code == status, (path, response.text)
        assert sent_id in stack.log(service), path


# --- 3. request ids and the access log -------------------------------------------------------

def test_the_access_log_line_names_the_user_of_a_valid_token(api, stack, user):
    user_id, headers = user
    sent_id = request_id("access")
    response = api.get(f"/api/users/{user_id}", headers={**headers, "X-Request-ID": sent_id})
    assert response.status_code == 200 and response.headers["X-Request-ID"] == sent_id
    line = re.compile(rf"\[{sent_id}\] access: GET /api/users/{user_id} 200 \d+\.\dms user={user_id}$", re.M)
    assert line.search(stack.log("gateway")), sent_id
    assert sent_id in stack.log("user")


def test_a_request_without_a_usable_id_gets_one_that_travels_on(api, stack):
    for sent in ({}, {"X-Request-ID": "spaces are not allowed"}):
        response = api.get("/api/products", params={"limit": 1}, headers=sent)
        made = response.headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", made), made
        assert f"[{made}] access: GET /api/products 200" in stack.log("gateway")
        assert f"[{made}] access: GET /api/products 200" in stack.log("product")


# --- 4. rate limits ----------------------------------------------------------------------------

def test_a_password_guesser_is_stopped_per_address_with_a_json_429(stack, tmp_path):
    with own_gateway(stack, tmp_path, RATELIMIT_ENABLED="true", RATELIMIT_LOGIN="3 per minute",
                     RATELIMIT_DEFAULT="100 per minute") as gateway:
        guess = {"username": unique_name(), "password": "not-the-password"}
        answers = [requests.post(gateway + "/api/users/login", json=guess, timeout=10) for _ in range(3)]
        assert [answer.status_code for answer in answers] == [401, 401, 401]
        assert [answer.headers["X-RateLimit-Remaining"] for answer in answers] == ["2", "1", "0"]
        assert "Retry-After" not in answers[0].headers

        blocked_id = request_id("guess")
        blocked = requests.post(gateway + "/api/users/login", json=guess, timeout=10,
                                headers={"X-Request-ID": blocked_id})
        body = assert_json_error(blocked, 429, "rate_limited")
        assert set(body) == {"error", "message"}
        assert 1 <= int(blocked.headers["Retry-After"]) <= 60
        assert blocked.headers["X-RateLimit-Limit"] == "3" and blocked.headers["X-RateLimit-Remaining"] == "0"
        assert blocked_id not in stack.log("user")

        # Register shares the sign-in counter; the other routes have their own.
        register = requests.post(gateway + "/api/users/register", timeout=10,
                                 json={"username": unique_name(), "password": "long-enough-1"})
        assert register.status_code == 429
        catalog = requests.get(gateway + "/api/products", timeout=10)
        assert catalog.status_code == 200 and catalog.headers["X-RateLimit-Limit"] == "100"
        for path in ("/", "/health", "/", "/health"):
            answer = requests.get(gateway + path, timeout=10)
            assert answer.status_code == 200 and "X-RateLimit-Limit" not in answer.headers


def test_the_default_limit_counts_each_user_and_each_anonymous_address_apart(api, stack, tmp_path):
    alice, bob = new_user(api), new_user(api)
    with own_gateway(stack, tmp_path, RATELIMIT_ENABLED="true", RATELIMIT_DEFAULT="3 per minute") as gateway:
        def read_self(someone):
            user_id, headers = someone
            return requests.get(f"{gateway}/api/users/{user_id}", headers=headers, timeout=10)

        assert [read_self(alice).status_code for _ in range(3)] == [200, 200, 200]
        assert_json_error(read_self(alice), 429, "rate_limited")
        # A public route with alice's valid token counts on alice too.
        assert requests.get(gateway + "/api/products", headers=alice[1], timeout=10).status_code == 429

        bob_answer = read_self(bob)
        assert bob_answer.status_code == 200 and bob_answer.headers["X-RateLimit-Remaining"] == "2"
        anonymous = requests.get(gateway + "/api/products", timeout=10)
        assert anonymous.status_code == 200 and anonymous.headers["X-RateLimit-Remaining"] == "2"
        assert re.search(rf"access: GET /api/products 429 \S+ user={alice[0]}$", gateway_log(tmp_path), re.M)


def test_two_gateways_sharing_redis_enforce_one_quota(stack, tmp_path):
    shared = dict(RATELIMIT_ENABLED="true", RATELIMIT_DEFAULT="5 per minute",
                  RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379",
                  RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}")
    # Two workers are allowed with Redis: one of the gateways runs them.
    with own_gateway(stack, tmp_path / "a", GUNICORN_WORKERS="2", **shared) as gateway_a, \
            own_gateway(stack, tmp_path / "b", **shared) as gateway_b:
        answers = [requests.get(gateway + "/api/products", timeout=10)
                   for gateway in (gateway_a, gateway_a, gateway_a, gateway_b, gateway_b)]
        assert [answer.status_code for answer in answers] == [200] * 5
        assert [answer.headers["X-RateLimit-Remaining"] for answer in answers] == ["4", "3", "2", "1", "0"]
        assert_json_error(requests.get(gateway_a + "/api/products", timeout=10), 429, "rate_limited")
        assert_json_error(requests.get(gateway_b + "/api/products", timeout=10), 429, "rate_limited")


def test_an_unreachable_redis_leaves_the_limits_counting_in_memory(stack, tmp_path):
    with own_gateway(stack, tmp_path, RATELIMIT_ENABLED="true", RATELIMIT_DEFAULT="2 per minute",
                     RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}") as gateway:
        statuses = [requests.get(gateway + "/api/products", timeout=10).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]


def test_the_gateway_refuses_to_start_with_per_process_counters_and_several_workers(stack, tmp_path):
    environment = dict(stack.environments["gateway"], PORT=str(free_port()), GUNICORN_WORKERS="2",
                       RATELIMIT_ENABLED="true", RATELIMIT_STORAGE_URI="memory://")
    launcher.start_service("gateway", environment, tmp_path)
    try:
        with pytest.raises(RuntimeError, match="did not become healthy"):
            launcher.wait_until_healthy("gateway", environment, tmp_path, timeout=20)
    finally:
        launcher.stop_service("gateway", tmp_path)
    assert "GUNICORN_WORKERS=2 with RATELIMIT_STORAGE_URI=memory://" in gateway_log(tmp_path)


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
        yield body[start:start + size]


@pytest.mark.parametrize("length", [2 * MIB, MIB + 1])
@pytest.mark.parametrize("framing", ["content_length", "chunked"])
def test_a_body_over_1_mib_is_refused_and_never_reaches_a_service(stack, admin_headers, length, framing):
    too_big = product_body(length)
    for path, service, headers in (("/api/products", "product", admin_headers),
                                   ("/api/users/login", "user", {})):
        sent_id = request_id("too-big")
        # A connection of its own each: gunicorn closes one whose request body was left unread.
        response = requests.post(
            stack.gateway + path, data=too_big if framing == "content_length" else chunked(too_big),
            headers={**headers, "X-Request-ID": sent_id, "Content-Type": "application/json"}, timeout=10)
        assert_json_error(response, 413, "payload_too_large")
        assert sent_id not in stack.log(service), path


@pytest.mark.parametrize("framing", ["content_length", "chunked"])
def test_a_body_of_exactly_1_mib_is_forwarded(api, stack, admin_headers, framing):
    exactly = product_body(MIB)
    sent_id = request_id("one-mib")
    response = api.post("/api/products", data=exactly if framing == "content_length" else chunked(exactly),
                        headers={**admin_headers, "X-Request-ID": sent_id, "Content-Type": "application/json"})
    assert response.status_code == 400 and "name" in response.json()["fields"]  # too long a name
    assert sent_id in stack.log("product")


def test_a_body_that_is_not_json_is_a_json_415_from_the_service(api, stack, admin_headers):
    # The gateway forwards it: which routes take which bodies is each service's business.
    for path, service, headers in (("/api/users/register", "user", {}),
                                   ("/api/products", "product", admin_headers)):
        sent_id = request_id("not-json")
        response = api.post(path, data="name=mug&price=1", headers={
            **headers, "X-Request-ID": sent_id, "Content-Type": "application/x-www-form-urlencoded"})
        assert_json_error(response, 415, "unsupported_media_type")
        assert sent_id in stack.log(service)


def test_unknown_paths_are_json_404s(api):
    for path in ("/nowhere", "/api", "/api/nowhere", "/api/nowhere/1", "/api/users-and-more"):
        assert_json_error(api.get(path), 404, "not_found")


@pytest.mark.parametrize("target", [
    "/api/products/../../internal/reservations",
    "/api/products/%2e%2e/%2E%2E/internal/reservations",
    "/api/customers/1/../../../internal/customers/1",
])
def test_a_path_climbing_out_of_its_family_is_a_404_at_the_door(stack, admin_headers, target):
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
        ("POST", "/health", {}),            # the gateway's own route
        ("TRACE", "/api/products", {}),     # a method the gateway does not forward
        ("DELETE", "/api/users", admin_headers),        # forwarded: the user service answers
        ("PATCH", "/api/products/1", admin_headers),    # forwarded: the product service answers
    ):
        response = api.request(method, path, headers=headers)
        assert_json_error(response, 405, "method_not_allowed")
        assert method not in response.headers["Allow"] and "GET" in response.headers["Allow"], path


# --- 6. and 7. services down or hung; / and /health ------------------------------------------

@pytest.fixture(scope="module")
def hung_service():
    service = HungService()
    yield service
    service.close()


@pytest.fixture(scope="module")
def troubled_gateway(stack, hung_service, tmp_path_factory):
    """A gateway whose user service is fine, product service stopped, customer and transaction services hung."""
    with own_gateway(stack, tmp_path_factory.mktemp("troubled"),
                     PRODUCT_SERVICE_URL=f"http://127.0.0.1:{free_port()}",
                     CUSTOMER_SERVICE_URL=hung_service.url, TRANSACTION_SERVICE_URL=hung_service.url,
                     GATEWAY_TIMEOUT="1", SERVICE_TIMEOUT="1") as url:
        yield url


def timed(method, url, **kwargs):
    started = time.monotonic()
    response = requests.request(method, url, timeout=15, **kwargs)
    return response, time.monotonic() - started


def test_a_stopped_service_is_a_503_naming_it_at_once(troubled_gateway):
    response, seconds = timed("GET", troubled_gateway + "/api/products")
    assert "product service" in assert_json_error(response, 503, "service_unavailable")["message"]
    assert seconds < 1


@pytest.mark.parametrize("method, path, service", [
    ("GET", "/api/transactions/customer/1", "transaction"),
    ("POST", "/api/customers", "customer"),
])
def test_a_hung_service_is_a_504_naming_it_within_the_timeout(troubled_gateway, user, method, path, service):
    response, seconds = timed(method, troubled_gateway + path, headers=user[1], json={})
    assert f"{service} service" in assert_json_error(response, 504, "gateway_timeout")["message"]
    assert 1 <= seconds < 2


def test_the_services_that_are_up_still_answer(troubled_gateway, user):
    user_id, headers = user
    assert requests.get(f"{troubled_gateway}/api/users/{user_id}", headers=headers, timeout=10).status_code == 200


def test_health_asks_every_service_at_once_and_names_those_down(troubled_gateway):
    response, seconds = timed("GET", troubled_gateway + "/health")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "services": {"user": "ok", "customer": "unavailable", "product": "unavailable",
                     "transaction": "unavailable"},
        "down": ["customer", "product", "transaction"],
    }
    assert seconds < 1.9  # two hung services asked one after the other would take 2 s


def test_the_root_describes_the_gateway_and_its_links_lead_somewhere(api):
    response = api.get("/")
    assert response.status_code == 200
    described = response.json()
    assert set(described["routes"]) == {"users", "customers", "products", "transactions"}
    for link in [*described["routes"].values(), described["docs"], described["openapi"], described["health"]]:
        assert api.get(link).status_code in (200, 401), link
