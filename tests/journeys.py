"""The journeys every stack of the whole shop passes, collected by each tier that runs one (the
end-to-end tier's throw-away stack, the replicas behind HAProxy, the image's containers): the
user's journey through the gateway, orders racing for stock, and the Postman collection.

Test functions only, to be imported into a tier's test module; not collected here. They use the
fixtures every such tier provides: ``stack`` (with ``gateway``, ``urls``, ``log``), ``api``,
``admin_headers`` and ``shop`` (tests/stacks.py).
"""

import subprocess
import uuid

import pytest
import requests

from shop_common.settings import PROJECT_ROOT
from tests.stacks import ADMIN_PASSWORD, ADMIN_USERNAME, run_concurrently
from tests.support import unique_name

NEWMAN = PROJECT_ROOT / "node_modules" / ".bin" / "newman"  # npm ci (make test, .ci/run)
POSTMAN = PROJECT_ROOT / "docs" / "postman"


def test_every_service_and_the_gateway_report_healthy(stack):
    for service, url in stack.urls.items():
        response = requests.get(url + "/health", timeout=5)
        assert response.status_code == 200, (service, response.text)
    assert requests.get(stack.gateway + "/health", timeout=5).json()["services"] == {
        "user": "ok",
        "customer": "ok",
        "product": "ok",
        "transaction": "ok",
        "payment": "ok",
    }


def test_register_login_and_read_oneself(api, stack):
    username, password = unique_name(), "journey-password-1"
    request_id = f"journey-{uuid.uuid4().hex}"
    registered = api.post(
        "/api/users/register", json={"username": username, "password": password}, headers={"X-Request-ID": request_id}
    )
    assert registered.status_code == 201, registered.text
    assert registered.headers["X-Request-ID"] == request_id
    user_id = registered.json()["userId"]

    login = api.post("/api/users/login", json={"username": username, "password": password})
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

    me = api.get(f"/api/users/{user_id}", headers=headers)
    assert me.status_code == 200
    assert me.json()["username"] == username and me.json()["role"] == "customer"
    assert api.get(f"/api/users/{user_id + 1}", headers=headers).status_code in (403, 404)

    for response in (registered, login, me):
        assert password not in response.text and "$2b$" not in response.text
    # The request id travelled from the client through the gateway to the user service.
    assert request_id in stack.log("gateway") and request_id in stack.log("user")


def test_the_bootstrapped_admin_lists_users(api, admin_headers):
    response = api.get("/api/users?limit=500", headers=admin_headers)
    assert response.status_code == 200
    assert "admin" in [user["username"] for user in response.json()]
    assert int(response.headers["X-Total-Count"]) >= 1


def test_the_gateway_refuses_a_protected_route_without_a_token_before_forwarding(api, stack):
    request_id = f"no-token-{uuid.uuid4().hex}"
    response = api.get("/api/users/1", headers={"X-Request-ID": request_id})
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"
    assert request_id in stack.log("gateway") and request_id not in stack.log("user")


def test_errors_through_the_gateway_are_json(api):
    for response in (
        api.post("/api/users/register", data="{oops", headers={"Content-Type": "application/json"}),
        api.post("/api/users/register", data="plain text", headers={"Content-Type": "text/plain"}),
        api.get("/api/nowhere"),
        api.get("/definitely/not/here"),
    ):
        assert response.status_code in (400, 404, 415)
        assert response.headers["Content-Type"].startswith("application/json")
        assert "<html" not in response.text.lower() and "Traceback" not in response.text


def test_no_password_or_hash_in_any_log(api, stack):
    username, password = unique_name(), "log-check-password"
    api.post("/api/users/register", json={"username": username, "password": password})
    api.post("/api/users/login", json={"username": username, "password": password})
    api.post("/api/users/login", json={"username": username, "password": "wrong-" + password})
    for service in stack.urls:
        log = stack.log(service)
        assert password not in log and ADMIN_PASSWORD not in log and "$2b$" not in log, service


@pytest.mark.parametrize("round_number", range(3))
def test_fifty_buyers_racing_for_ten_units_never_oversell(shop, round_number):
    product_id = shop.create_product(stock=10)
    customers = [shop.new_customer() for _ in range(5)]
    tasks = [lambda n=n: shop.order(*customers[n % 5], [(product_id, 1)]) for n in range(50)]
    statuses = [response.status_code for response in run_concurrently(tasks)]
    assert statuses.count(201) == 10 and statuses.count(409) == 40, statuses
    assert shop.stock(product_id) == 0
    shop.assert_stock_balances({product_id: 10}, within_seconds=0)


def test_concurrent_orders_and_cancellations_keep_stock_balanced(shop):
    products = [shop.create_product(stock=40) for _ in range(3)]
    customers = [shop.new_customer() for _ in range(4)]
    placed = []
    for n in range(12):
        response = shop.order(*customers[n % 4], [(products[n % 3], 2), (products[(n + 1) % 3], 1)])
        assert response.status_code == 201
        placed.append((response.json()["id"], customers[n % 4][1]))
    tasks = [lambda n=n: shop.order(*customers[n % 4], [(products[n % 3], 1 + n % 3)]) for n in range(30)]
    tasks += [lambda order=order: shop.cancel(*order) for order in placed]
    tasks += [lambda order=order: shop.cancel(*order) for order in placed[:6]]  # retried cancellations
    statuses = [response.status_code for response in run_concurrently(tasks)]
    assert set(statuses) <= {200, 201, 409}, statuses
    assert statuses.count(200) == 12
    shop.assert_stock_balances(dict.fromkeys(products, 40), within_seconds=0)


def test_an_idempotent_retry_through_the_gateway_never_reserves_twice(shop):
    product_id = shop.create_product(stock=5)
    customer_id, headers = shop.new_customer()
    key = {"Idempotency-Key": unique_name("key")}
    responses = run_concurrently([lambda: shop.order(customer_id, headers, [(product_id, 2)], **key)] * 4, workers=4)
    created = [response.json()["id"] for response in responses if response.status_code == 201]
    assert len(set(created)) == 1
    assert {response.status_code for response in responses} <= {201, 409}
    assert shop.order(customer_id, headers, [(product_id, 2)], **key).json()["id"] == created[0]
    assert shop.stock(product_id) == 3


def test_the_postman_collection_passes_with_newman(stack):
    run = subprocess.run(
        [
            NEWMAN,
            "run",
            POSTMAN / "shop.postman_collection.json",
            "--environment",
            POSTMAN / "local.postman_environment.json",
            "--env-var",
            f"baseUrl={stack.gateway}",
            "--env-var",
            f"adminUsername={ADMIN_USERNAME}",
            "--env-var",
            f"adminPassword={ADMIN_PASSWORD}",
            "--reporters",
            "cli",
            "--color",
            "off",
            "--timeout-request",
            "20000",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr  # newman's report names each failed assertion


__all__ = [name for name in dir() if name.startswith("test_")]
