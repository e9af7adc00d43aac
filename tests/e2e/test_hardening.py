"""What an attacker or a careless client sends, through the gateway and at each service directly.

Every case answers a 4xx (or 2xx) in the error shape and changes nothing; the stock of a
cancelled order always comes back; a saga step that keeps failing shows up in /health and
in the log, once per order per interval.
"""

import re
import time

import pytest
import requests

from tests.stacks import Shop
from tests.support import signed_token, unique_name

MAX_STOCK = 2_147_483_647
SERVICES = ["gateway", "user", "customer", "product", "transaction"]
# A protected route of each service, and the gateway's token check in front of the customer service.
PROTECTED = {
    "gateway": ("GET", "/api/customers/1"),
    "user": ("GET", "/api/users/1"),
    "customer": ("GET", "/api/customers/1"),
    "product": ("DELETE", "/api/products/999999"),
    "transaction": ("GET", "/api/transactions/1"),
}
# A JSON route of each service (POST), reached with an admin's token.
JSON_ROUTES = {
    "gateway": "/api/users/login",
    "user": "/api/users/login",
    "customer": "/api/customers",
    "product": "/api/products",
    "transaction": "/api/transactions",
}


@pytest.fixture
def shop(stack, admin_headers):
    return Shop(stack, admin_headers)


def assert_error(response, status, code=None):
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"] == "application/json", response.headers
    body = response.json()
    assert set(body) <= {"error", "message", "fields"} and body["message"]
    if code:
        assert body["error"] == code, body
    return body


def bearer(**claims):
    return {"Authorization": "Bearer " + signed_token(**claims)}


ODD_TOKENS = {
    "superscript-two": {"sub": "²", "role": "admin"},
    "arabic-one": {"sub": "١", "role": "admin"},
    "no-exp": {"sub": "1", "role": "admin", "exp": None},
    "unknown-role": {"sub": "1", "role": "root"},
    "number-subject": {"sub": 1, "role": "admin"},
    "subject-past-int-unsigned": {"sub": "4294967296", "role": "admin"},
    "leading-zero": {"sub": "01", "role": "admin"},
    "service-of-nothing": {"sub": "service:nobody", "role": "service"},
}


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("claims", ODD_TOKENS.values(), ids=ODD_TOKENS.keys())
def test_a_token_with_odd_claims_is_a_401_everywhere(stack, service, claims):
    method, path = PROTECTED[service]
    response = requests.request(method, stack.urls[service] + path, headers=bearer(**claims), timeout=10)
    assert_error(response, 401)


@pytest.mark.parametrize("path", ["/api/customers", "/api/products", "/api/users/login"])
def test_the_gateway_refuses_a_service_token_from_outside(stack, path):
    service_token = bearer(sub="service:transaction", role="service")
    response = requests.get(stack.gateway + path, headers=service_token, timeout=10)
    assert_error(response, 401)


@pytest.mark.parametrize("service", SERVICES)
def test_deeply_nested_json_is_a_400_everywhere(stack, admin_headers, service):
    body = "[" * 1000 + "]" * 1000
    response = requests.post(
        stack.urls[service] + JSON_ROUTES[service],
        data=body,
        timeout=10,
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert "32" in assert_error(response, 400, "invalid_json")["message"]


@pytest.mark.parametrize("service", ["gateway", "customer"])
@pytest.mark.parametrize("field", ["name", "email"])
def test_a_control_character_in_a_profile_is_a_400(stack, shop, service, field):
    username, password = unique_name(), "buyer-password-1"
    user_id = shop.call("POST", "/api/users/register", json={"username": username, "password": password}).json()[
        "userId"
    ]
    login = shop.call("POST", "/api/users/login", json={"username": username, "password": password}).json()
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    profile = {"userId": user_id, "name": "Buyer", "email": f"{username}@example.com"}
    profile[field] = profile[field][:3] + "\x00" + profile[field][3:]
    response = requests.post(stack.urls[service] + "/api/customers", json=profile, headers=headers, timeout=10)
    assert "control characters" in assert_error(response, 400, "validation_error")["fields"][field]
    assert shop.call("GET", f"/api/customers/user/{user_id}", headers=headers).status_code == 404


def test_free_text_keeps_line_breaks_but_not_escapes(shop):
    created = shop.call(
        "POST",
        "/api/products",
        headers=shop.admin,
        json={"name": "Lined", "price": "1.00", "description": "one\ntwo\tthree"},
    )
    assert created.status_code == 201 and created.json()["description"] == "one\ntwo\tthree"
    refused = shop.call(
        "PUT",
        f"/api/products/{created.json()['id']}",
        headers=shop.admin,
        json={"description": "bell\x07", "name": "esc\x1b[31m"},
    )
    assert set(assert_error(refused, 400, "validation_error")["fields"]) == {"description", "name"}


def test_a_deleted_profiles_orders_stay_listable_by_the_admin_and_the_owner(shop):
    product_id = shop.create_product(stock=5)
    customer_id, headers = shop.new_customer()
    order = shop.order(customer_id, headers, [(product_id, 2)])
    assert order.status_code == 201
    assert shop.call("DELETE", f"/api/customers/{customer_id}", headers=headers).status_code == 200
    for who in (shop.admin, headers):
        listed = shop.call("GET", f"/api/transactions/customer/{customer_id}", headers=who)
        assert listed.status_code == 200 and [o["id"] for o in listed.json()] == [order.json()["id"]]
        assert shop.call("GET", f"/api/transactions/{order.json()['id']}", headers=who).status_code == 200
    _, stranger = shop.new_customer()
    assert_error(shop.call("GET", f"/api/transactions/customer/{customer_id}", headers=stranger), 403)
    assert_error(shop.call("GET", "/api/transactions/customer/4000000000", headers=shop.admin), 404)


def test_the_stock_of_a_cancelled_order_always_comes_back(shop):
    """The stuck-cancel scenario: stock at the column's maximum, one unit held, stock set back."""
    product_id = shop.create_product(stock=MAX_STOCK)
    customer_id, headers = shop.new_customer()
    order = shop.order(customer_id, headers, [(product_id, 1)])
    assert order.status_code == 201 and shop.stock(product_id) == MAX_STOCK - 1
    refused = shop.call("PUT", f"/api/products/{product_id}", headers=shop.admin, json={"stock": MAX_STOCK})
    assert str(MAX_STOCK - 1) in assert_error(refused, 409, "stock_limit_exceeded")["message"]
    assert shop.stock(product_id) == MAX_STOCK - 1
    allowed = shop.call("PUT", f"/api/products/{product_id}", headers=shop.admin, json={"stock": MAX_STOCK - 1})
    assert allowed.status_code == 200
    assert shop.cancel(order.json()["id"], headers).status_code == 200
    assert shop.stock(product_id) == MAX_STOCK
    shop.assert_stock_balances({product_id: MAX_STOCK}, within_seconds=0)


def test_a_failing_release_shows_in_health_and_is_logged_once_per_interval(shop, stack):
    """The product service stopped: the cancelled order waits in `releasing`, counted, logged once."""
    product_id = shop.create_product(stock=4)
    customer_id, headers = shop.new_customer()
    order = shop.order(customer_id, headers, [(product_id, 3)])
    assert order.status_code == 201
    reference_log = len(stack.log("transaction"))
    stack.stop("product")
    try:
        assert shop.cancel(order.json()["id"], headers).status_code == 200
        deadline = time.monotonic() + 30
        while unsettled(stack) == 0:
            assert time.monotonic() < deadline, "the unsettled order never showed in /health"
            time.sleep(0.5)
        time.sleep(3)  # several sweeper rounds (SAGA_SWEEP_SECONDS=1 in the test stack)
        failures = re.findall(r"ERROR .*release of [0-9a-f-]{36}", stack.log("transaction")[reference_log:])
        assert len(failures) == 1, failures
    finally:
        stack.start("product")
    deadline = time.monotonic() + 30
    while unsettled(stack) != 0:
        assert time.monotonic() < deadline, "the sweeper never settled the order"
        time.sleep(0.5)
    shop.assert_stock_balances({product_id: 4}, within_seconds=0)


def unsettled(stack):
    health = requests.get(stack.urls["transaction"] + "/health", timeout=10)
    assert health.status_code == 200, health.text
    return health.json()["saga"]["unsettledOrders"]
