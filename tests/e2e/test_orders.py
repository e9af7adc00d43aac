"""Orders through the gateway against the five real processes: races, failures, crashes.

The invariant every test ends on, for each product it made:
    initial stock = current stock + units in orders that are not cancelled.
"""

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support import unique_name


class Shop:
    """Drives the API as an admin and as customers would."""

    def __init__(self, stack, admin_headers):
        self.base = stack.gateway
        self.admin = admin_headers

    def call(self, method, path, **kwargs):
        kwargs.setdefault("timeout", 20)
        return requests.request(method, self.base + path, **kwargs)

    def create_product(self, stock, price="10.00"):
        response = self.call(
            "POST",
            "/api/products",
            headers=self.admin,
            json={"name": unique_name("item"), "price": price, "stock": stock},
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def stock(self, product_id):
        return self.call("GET", f"/api/products/{product_id}").json()["stock"]

    def new_customer(self):
        """Register, log in and create a profile: (customer id, headers)."""
        username, password = unique_name(), "buyer-password-1"
        user_id = self.call("POST", "/api/users/register", json={"username": username, "password": password}).json()[
            "userId"
        ]
        token = self.call("POST", "/api/users/login", json={"username": username, "password": password}).json()[
            "access_token"
        ]
        headers = {"Authorization": f"Bearer {token}"}
        customer = self.call(
            "POST",
            "/api/customers",
            headers=headers,
            json={"userId": user_id, "name": "Buyer", "email": f"{username}@example.com"},
        )
        assert customer.status_code == 201, customer.text
        return customer.json()["customerId"], headers

    def order(self, customer_id, headers, lines, **extra_headers):
        return self.call(
            "POST",
            "/api/transactions",
            headers={**headers, **extra_headers},
            json={
                "customerId": customer_id,
                "items": [{"productId": product_id, "quantity": quantity} for product_id, quantity in lines],
            },
        )

    def cancel(self, transaction_id, headers):
        return self.call(
            "PUT", f"/api/transactions/{transaction_id}/status", headers=headers, json={"status": "cancelled"}
        )

    def held_units(self, product_ids):
        """Units of each product in orders that are not cancelled, from the admin's order list."""
        held = dict.fromkeys(product_ids, 0)
        offset = 0
        while True:
            page = self.call("GET", f"/api/transactions?limit=500&offset={offset}", headers=self.admin)
            assert page.status_code == 200, page.text
            for order in page.json():
                if order["status"] != "cancelled":
                    for item in order["items"]:
                        if item["product_id"] in held:
                            held[item["product_id"]] += item["quantity"]
            offset += 500
            if offset >= int(page.headers["X-Total-Count"]):
                return held

    def assert_stock_balances(self, initial, within_seconds=30):
        """Wait (for the sweeper) until initial = current + held for every product, then assert it."""
        deadline = time.monotonic() + within_seconds
        while True:
            held = self.held_units(initial)
            balance = {pid: (self.stock(pid), held[pid]) for pid in initial}
            if all(stock + units == initial[pid] for pid, (stock, units) in balance.items()):
                return balance
            assert time.monotonic() < deadline, f"stock never balanced: initial {initial}, (stock, held) {balance}"
            time.sleep(0.5)


@pytest.fixture
def shop(stack, admin_headers):
    return Shop(stack, admin_headers)


def run_concurrently(tasks, workers=50):
    """Run the callables at once (released together by a barrier); return their results."""
    barrier = threading.Barrier(min(workers, len(tasks)))

    def start_together(task):
        barrier.wait()
        return task()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(start_together, tasks))


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


def _order_load(shop, product_ids, customers, stop_event):
    """Place and cancel orders in a loop until ``stop_event``; returns the statuses seen."""
    statuses = []
    n = 0
    while not stop_event.is_set():
        customer_id, headers = customers[n % len(customers)]
        try:
            response = shop.order(customer_id, headers, [(product_ids[n % len(product_ids)], 1)])
            statuses.append(response.status_code)
            if response.status_code == 201 and n % 3 == 0:
                statuses.append(shop.cancel(response.json()["id"], headers).status_code)
        except requests.ConnectionError:
            statuses.append("connection error")
        n += 1
    return statuses


# Stock of each product under load: more than any load can hold, so every refusal is a failure.
LOAD_STOCK = 10_000


def _with_load_while(shop, disrupt, seconds_before=0.7):
    products = [shop.create_product(stock=LOAD_STOCK) for _ in range(2)]
    customers = [shop.new_customer() for _ in range(3)]
    stop_event = threading.Event()
    with ThreadPoolExecutor(max_workers=6) as pool:
        runs = [pool.submit(_order_load, shop, products, customers, stop_event) for _ in range(6)]
        try:
            time.sleep(seconds_before)
            disrupt()
            time.sleep(0.5)
        finally:  # a failed disruption must not leave the load running for ever
            stop_event.set()
        statuses = [status for run in runs for status in run.result()]
    return products, statuses


def test_stopping_the_product_service_mid_run_loses_no_stock(shop, stack):
    def stop_product_then_restart():
        stack.stop("product")
        time.sleep(1.0)
        stack.start("product")

    products, statuses = _with_load_while(shop, stop_product_then_restart)
    assert 201 in statuses and 503 in statuses, statuses
    assert 500 not in statuses
    shop.assert_stock_balances(dict.fromkeys(products, LOAD_STOCK))


def test_killing_the_transaction_service_mid_run_loses_no_stock(shop, stack):
    def kill_and_restart():
        pid = int((stack.run_dir / "transaction.pid").read_text())
        os.killpg(pid, signal.SIGKILL)
        time.sleep(0.3)
        stack.start("transaction")

    products, statuses = _with_load_while(shop, kill_and_restart)
    assert 201 in statuses and 500 not in statuses, statuses
    shop.assert_stock_balances(dict.fromkeys(products, LOAD_STOCK))


@pytest.mark.parametrize("step", ["after_record", "after_reserve", "after_confirm"])
def test_a_crash_at_any_saga_step_is_recovered_on_restart(shop, stack, step):
    product_id = shop.create_product(stock=10)
    customer_id, headers = shop.new_customer()
    normal = dict(stack.environments["transaction"])
    stack.stop("transaction")
    stack.environments["transaction"] = dict(normal, FAULT_CRASH_AT=step)
    try:
        stack.start("transaction")
        response = shop.order(customer_id, headers, [(product_id, 4)])
        assert response.status_code in (503, 504), response.text
    finally:
        stack.stop("transaction")
        stack.environments["transaction"] = normal
        stack.start("transaction")
    balance = shop.assert_stock_balances({product_id: 10})
    # Confirmed before the crash: the order stands. Otherwise: rolled back.
    assert balance[product_id] == ((6, 4) if step == "after_confirm" else (10, 0))
