"""Forwarded routes answered below Flask (api_gateway/forwarding_wsgi.py) and by Flask: the same
requests get what the API promises on both paths, and the same answer from each; rate limits
below Flask count where Flask's do.

Behind the gateway: the real product service (its own test database), a recording stand-in for
the customer service (to see what the gateway sends on), and nothing at the payment service's address.
"""

import itertools
import logging
import re
import time
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from api_gateway import create_app
from api_gateway.forwarding_wsgi import FORWARDED_PATH
from product_service import create_app as create_product_app
from shop_common.revocation import raise_epoch
from tests.e2e.upstreams import RecordingService
from tests.service.conftest import served
from tests.support import TEST_JWT_SECRET, TEST_REVOCATION_PREFIX, Tokens, app_test_config, assert_error, free_port

# Headers that differ between the two paths by design: the limiter's, and what is new on each answer (the time too).
UNCOMPARED = {"date", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after", "x-request-id"}
ODD_QUERY = "name=caf%C3%A9&q=a%20b&raw=%FF%00&plus=1+2&empty=&flag&semi=a;b&pct=%25"

# Users whose session epoch no test has raised yet.
UNREVOKED_USERS = itertools.count(987700)


@pytest.fixture(scope="module")
def product_service_url(unit_databases):
    yield from served(create_product_app(app_test_config(unit_databases["product_db"])))


@pytest.fixture(scope="module")
def customer_stand_in():
    with RecordingService() as service:
        yield service


def gateway_config(product_service_url, customer_service_url, **settings):
    return {
        "TESTING": True,
        "JWT_SECRET_KEY": TEST_JWT_SECRET,
        "REVOCATION_KEY_PREFIX": TEST_REVOCATION_PREFIX,
        "PRODUCT_SERVICE_URL": product_service_url,
        "CUSTOMER_SERVICE_URL": customer_service_url,
        # Nothing listens at these: a call to them is a service down.
        **{f"{name}_SERVICE_URL": f"http://127.0.0.1:{free_port()}" for name in ("USER", "TRANSACTION", "PAYMENT")},
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_DEFAULT": "100000 per minute",
        "RATELIMIT_LOGIN": "100000 per minute",
        **settings,
    }


@pytest.fixture(scope="module")
def gateways(product_service_url, customer_stand_in):
    """``below_flask`` (limits off) and ``flask`` (limits on, too high to be reached), behind the same services.

    A limit of two rates is left to Flask (forwarding_wsgi.py): that is how ``flask`` takes every request.
    """
    return {
        "below_flask": create_app(gateway_config(product_service_url, customer_stand_in.url, RATELIMIT_ENABLED=False)),
        "flask": create_app(
            gateway_config(
                product_service_url,
                customer_stand_in.url,
                RATELIMIT_ENABLED=True,
                RATELIMIT_DEFAULT="100000 per minute; 100000 per second",
            )
        ),
    }


@pytest.fixture(params=["below_flask", "flask"])
def gateway(request, gateways):
    return gateways[request.param]


@pytest.fixture
def client(gateway):
    return gateway.test_client()


@pytest.fixture
def tokens(gateway):
    return Tokens(gateway)


@pytest.fixture(scope="module")
def product_id(gateways):
    gateway = gateways["below_flask"]
    response = gateway.test_client().post(
        "/api/products", json={"name": "Forwarded mug", "price": "4.20"}, headers=Tokens(gateway).admin()
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def test_one_path_is_below_flask_and_the_other_flasks(gateways):
    assert gateways["below_flask"].wsgi_app.app.limits.usable()
    assert not gateways["flask"].wsgi_app.app.limits.usable()


@pytest.mark.parametrize(
    "path, below_flask",
    [
        ("/api/products", True),
        ("/api/products/1", True),
        ("/api/products/a b/c", True),
        ("/api/products/café", True),
        ("/api/products/\u2028", True),
        ("/api/users/login", True),
        ("/api/payments/1/refund", True),
        ("/api/products/a\nb", False),  # a 404 of Flask's router
        ("/api/products/a\rb", False),  # forwarded by Flask: a control character
        ("/api/products/\x00", False),
        ("/api/Products/1", False),
        ("/api/productsx", False),
        ("/api/session", False),
    ],
)
def test_the_paths_taken_below_flask_are_routed_alike_by_flask(gateways, path, below_flask):
    """Whatever the callable takes, Flask's router gives to forwarding with the same prefix and rest."""
    match = FORWARDED_PATH.fullmatch(path)
    assert (match is not None) == below_flask
    if below_flask:
        endpoint, arguments = gateways["flask"].url_map.bind("gateway").match(path, method="GET")
        assert endpoint == "forwarding.forward"
        assert (arguments["prefix"], arguments["rest"]) == (match[1], match[2] or "")


def test_a_public_read_is_relayed_as_the_service_answered(client, product_id):
    response = client.get(f"/api/products/{product_id}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json()["name"] == "Forwarded mug" and response.get_json()["price"] == "4.20"
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
    assert "Server" not in response.headers


def test_a_public_read_with_a_bad_token_is_still_answered(client, product_id):
    response = client.get(f"/api/products/{product_id}", headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 200


def test_a_head_has_the_length_of_the_get_and_no_body(client, product_id):
    get = client.get(f"/api/products/{product_id}")
    head = client.head(f"/api/products/{product_id}")
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["Content-Length"] == get.headers["Content-Length"] == str(len(get.get_data()))


@pytest.mark.parametrize("authorization", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer a b"])
def test_a_protected_route_without_a_token_is_401_before_any_service_is_called(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = client.post("/api/products", json={"name": "x", "price": "1.00"}, headers=headers)
    body = assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    expected = "The token is invalid." if authorization in ("Bearer", "Bearer a b") else "A bearer token is required."
    assert body["message"] == expected


@pytest.mark.parametrize(
    "claims, message",
    [
        (
            {"identity": "1", "additional_claims": {"role": "customer"}, "expires_delta": timedelta(seconds=-60)},
            "The token has expired.",
        ),
        ({"identity": "1", "additional_claims": {"role": "wizard"}}, "The token has no valid role."),
        ({"identity": "x1", "additional_claims": {"role": "customer"}}, "The token's subject is not a user id."),
    ],
)
def test_a_bad_token_on_a_protected_route_is_401(gateway, client, claims, message):
    response = client.get("/api/customers/1", headers=Tokens(gateway).raw(**claims))
    assert assert_error(response, 401, "unauthorized")["message"] == message


def test_a_forged_token_is_401(client):
    forged = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwicm9sZSI6ImFkbWluIn0.c2lnbmF0dXJl"
    response = client.get("/api/customers/1", headers={"Authorization": f"Bearer {forged}"})
    assert assert_error(response, 401, "unauthorized")["message"] == "The token is invalid."


def test_a_token_with_a_valid_signature_is_relayed_with_its_caller(client, tokens, customer_stand_in):
    response = client.get(f"/api/customers/7?{ODD_QUERY}", headers={**tokens.for_user(7), "X-Request-Id": "trace-me.1"})
    assert response.status_code == RecordingService.ANSWER_STATUS
    assert response.get_data() == RecordingService.ANSWER_BODY
    assert response.headers.getlist("Set-Cookie") == ["session=for-one-client-only; Path=/", "theme=dark; Path=/"]
    assert response.headers["X-Request-ID"] == "trace-me.1"
    received = customer_stand_in.received[-1]
    assert received.method == "GET"
    # The query goes on as sent: already-encoded bytes untouched, nothing decoded or re-ordered.
    assert received.target == f"/api/customers/7?{ODD_QUERY}"
    assert received.headers["X-Request-ID"] == "trace-me.1"
    assert received.headers["X-Forwarded-For"] == "127.0.0.1"


def test_raw_bytes_in_a_query_go_on_percent_encoded(client, tokens, customer_stand_in):
    raw = "q=caf\xc3\xa9 au lait&x=\xff"  # as a WSGI server gives bytes it read: each one a latin-1 character
    client.get("/api/customers/7", environ_overrides={"QUERY_STRING": raw}, headers=tokens.for_user(7))
    assert customer_stand_in.received[-1].target == "/api/customers/7?q=caf%C3%A9%20au%20lait&x=%FF"


def test_hop_by_hop_headers_are_dropped_and_forwarded_for_appended(client, tokens, customer_stand_in):
    headers = {
        **tokens.for_user(7),
        "Connection": "keep-alive, X-Secret-Hop",
        "X-Secret-Hop": "drop me",
        "Proxy-Authorization": "Basic c2VjcmV0",
        "TE": "trailers",
        "X-Forwarded-For": "203.0.113.9",
        "X-Kept": "yes",
    }
    client.post("/api/customers", data=b'{"a": 1}', headers=headers, content_type="application/json")
    received = customer_stand_in.received[-1]
    assert received.body == b'{"a": 1}' and received.headers["Content-Length"] == "8"
    assert received.headers["X-Kept"] == "yes"
    assert received.headers["X-Forwarded-For"] == "203.0.113.9, 127.0.0.1"
    for dropped in ("X-Secret-Hop", "Proxy-Authorization", "TE"):
        assert dropped not in received.headers


def test_an_odd_query_on_a_public_read_reaches_the_service(client, product_id):
    response = client.get(f"/api/products/{product_id}?{ODD_QUERY}")
    assert response.status_code in (200, 400) and response.is_json


def test_an_insane_request_id_is_replaced(client, product_id):
    response = client.get(f"/api/products/{product_id}", headers={"X-Request-Id": "two words"})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_an_admin_prefix_is_403_for_a_customer_and_a_service_token_is_401(client, tokens):
    body = assert_error(client.get("/api/payments", headers=tokens.for_user(7)), 403, "forbidden")
    assert body["message"] == "Only an admin may do this."
    response = client.get("/api/products", headers=tokens.service())
    assert assert_error(response, 401, "unauthorized")["message"] == "A service's token is not accepted from outside."


def test_a_revoked_token_is_401(gateway, client):
    user_id = 987654
    revoked = Tokens(gateway).raw(identity=str(user_id), additional_claims={"role": "customer", "epoch": 0})
    with gateway.app_context():
        raise_epoch(user_id, 1)
    response = client.get(f"/api/customers/{user_id}", headers=revoked)
    assert assert_error(response, 401, "unauthorized")["message"] == "The token has been revoked."


def test_a_token_accepted_before_is_refused_once_revoked_or_expired(gateway, client):
    """The gateway keeps a token it verified, not its standing: revocation and expiry are checked again."""
    user_id = next(UNREVOKED_USERS)  # one per path: an epoch raised stays raised
    token = Tokens(gateway).raw(identity=str(user_id), additional_claims={"role": "customer", "epoch": 0})
    assert client.get(f"/api/customers/{user_id}", headers=token).status_code == RecordingService.ANSWER_STATUS
    with gateway.app_context():
        raise_epoch(user_id, 1)
    response = client.get(f"/api/customers/{user_id}", headers=token)
    assert assert_error(response, 401, "unauthorized")["message"] == "The token has been revoked."
    short = Tokens(gateway).raw(
        identity="7", additional_claims={"role": "customer"}, expires_delta=timedelta(seconds=1)
    )
    assert client.get("/api/customers/7", headers=short).status_code == RecordingService.ANSWER_STATUS
    time.sleep(1.1)
    assert assert_error(client.get("/api/customers/7", headers=short), 401)["message"] == "The token has expired."


def test_an_unknown_prefix_and_a_dot_segment_are_404(client, tokens):
    assert_error(client.get("/api/nothing/1"), 404, "not_found")
    assert_error(client.get("/api/customers/../products", headers=tokens.for_user(7)), 404, "not_found")


def test_a_service_down_is_503_in_the_api_shape(client, tokens):
    body = assert_error(client.get("/api/payments", headers=tokens.admin()), 503, "service_unavailable")
    assert body["message"] == "The payment service is unavailable."


def test_a_body_over_the_limit_is_413(client, tokens):
    response = client.post("/api/customers", data=b"x" * (1024 * 1024 + 1), headers=tokens.for_user(7))
    assert_error(response, 413, "payload_too_large")


def test_the_gateways_own_routes_are_still_flasks(client):
    assert client.get("/health/live").get_json()["service"] == "gateway"
    assert client.get("/").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert_error(client.get("/api/session"), 405, "method_not_allowed")


def count_of(route, method, status):
    labels = {"route": route, "method": method, "status": str(status)}
    return REGISTRY.get_sample_value("shop_http_request_duration_seconds_count", labels) or 0


def test_metrics_and_the_access_line_are_the_flask_paths(client, tokens, caplog):
    """Requests no Flask app behind the gateway answers, so each access line is the gateway's."""
    route = "/api/customers/<path:rest>"
    before = count_of(route, "GET", RecordingService.ANSWER_STATUS), count_of("/api/payments", "GET", 401)
    with caplog.at_level(logging.INFO, logger="access"):
        client.get("/api/customers/7", headers={**tokens.for_user(7), "X-Request-Id": "access-1"})
        client.get("/api/payments", headers={"X-Request-Id": "access-2"})
    assert count_of(route, "GET", RecordingService.ANSWER_STATUS) == before[0] + 1
    assert count_of("/api/payments", "GET", 401) == before[1] + 1
    records = [record for record in caplog.records if record.name == "access"]
    lines = [re.sub(r" [0-9.]+ms ", " _ms ", record.getMessage()) for record in records]
    assert lines == [
        f"GET /api/customers/7 {RecordingService.ANSWER_STATUS} _ms user=7",
        "GET /api/payments 401 _ms user=-",
    ]
    assert [record.request_id for record in records] == ["access-1", "access-2"]


REQUESTS = [
    ("GET", "/api/products/{id}", None),
    ("HEAD", "/api/products/{id}", None),
    ("GET", "/api/products?" + ODD_QUERY, None),
    ("POST", "/api/products", None),
    ("GET", "/api/payments", "customer"),
    ("GET", "/api/payments", "admin"),
    ("GET", "/api/customers/5", "customer"),
    ("OPTIONS", "/api/customers/5", None),
    ("DELETE", "/api/nothing", None),
    ("GET", "/api/products/./1", None),
    ("POST", "/api/users/login", None),
]


@pytest.mark.parametrize("method, path, role", REQUESTS)
def test_both_paths_give_the_same_answer(gateways, product_id, method, path, role):
    answers = []
    for gateway in gateways.values():
        headers = {"X-Request-Id": "same-id"}
        if role:
            headers.update(Tokens(gateway).for_user(5, role))
        response = gateway.test_client().open(path.format(id=product_id), method=method, headers=headers)
        kept = sorted((name, value) for name, value in response.headers.items() if name.lower() not in UNCOMPARED)
        answers.append((response.status_code, kept, response.get_data(), response.headers.get("X-Request-ID")))
    assert answers[0] == answers[1]


@pytest.fixture
def limited(product_service_url, customer_stand_in):
    """A gateway with limits on, below Flask (the last app made: the limiter is the process's)."""

    def make(**settings):
        gateway = create_app(
            gateway_config(product_service_url, customer_stand_in.url, RATELIMIT_ENABLED=True, **settings)
        )
        assert gateway.wsgi_app.app.limits.usable()
        return gateway

    return make


def limited_count(limit):
    return REGISTRY.get_sample_value("shop_rate_limited_total", {"limit": limit}) or 0


def test_limits_below_flask_count_with_flasks_and_answer_429_the_same(limited, product_id):
    client = limited(RATELIMIT_DEFAULT="3 per minute").test_client()
    assert_error(client.post("/api/products", json={}), 401)  # refused before counting
    remaining = []
    for path in (f"/api/products/{product_id}", "/api/products/%01", f"/api/products/{product_id}"):
        # The second has a control character: Flask takes it, and counts it in the same place.
        response = client.get(path)
        assert response.headers["X-RateLimit-Limit"] == "3" and "Retry-After" not in response.headers
        assert int(response.headers["X-RateLimit-Reset"]) > 0
        remaining.append(response.headers["X-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    before = limited_count("default")
    response = client.get(f"/api/products/{product_id}")
    body = assert_error(response, 429, "rate_limited")
    assert body["message"].startswith("Too many requests: the limit is 3 per 1 minute.")
    assert response.headers["X-RateLimit-Remaining"] == "0" and 0 <= int(response.headers["Retry-After"]) <= 60
    assert limited_count("default") == before + 1


def test_login_is_limited_per_address_below_flask(limited):
    client = limited(RATELIMIT_LOGIN="2 per minute").test_client()
    before = limited_count("login")
    statuses = [client.post("/api/users/login", json={}).status_code for _ in range(3)]
    assert statuses == [503, 503, 429]  # the user service is down; the third is not sent
    assert limited_count("login") == before + 1
