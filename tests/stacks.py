"""What the tiers that run the shop's processes share: their test settings, a started stack, and the
fixtures and drivers their tests use against any stack that has a ``gateway`` URL.

The end-to-end and browser tiers start a :class:`tools.throwaway_stack.ThrowawayStack`
(:func:`started_stack`); the replica and container tiers start the same processes their own way
(HAProxy, podman) with :func:`service_environment`. Each tier's ``conftest.py`` defines its
``stack`` fixture and imports the fixtures below.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import requests

from tests.support import (
    DB_SERVER,
    TEST_JWT_SECRET,
    TEST_REVOCATION_PREFIX,
    create_test_databases,
    drop_test_databases,
    unique_name,
)
from tools.throwaway_stack import ThrowawayStack
from tools.throwaway_stack import service_environment as stack_environment

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin-password-for-tests"
SETTINGS = {
    "DB_HOST": DB_SERVER["host"],
    "DB_PORT": str(DB_SERVER["port"]),
    "DB_USER": DB_SERVER["user"],
    "DB_PASSWORD": DB_SERVER["password"],
    "JWT_SECRET_KEY": TEST_JWT_SECRET,
    "BCRYPT_ROUNDS": "4",
    "ADMIN_USERNAME": ADMIN_USERNAME,
    "ADMIN_PASSWORD": ADMIN_PASSWORD,
    "RATELIMIT_ENABLED": "false",
    "SERVICE_TIMEOUT": "3.0",
    # Longer than any order request can take with these timeouts (reserve:
    # up to 3 connects + 3 s read), so the sweeper never takes a live order.
    "SAGA_STALE_SECONDS": "8",
    "SAGA_SWEEP_SECONDS": "1",
    "ERASURE_SWEEP_SECONDS": "1",
    # A provider slower than this is a 504 (the sandbox is made slow or late by the tests).
    "PAYMENT_PROVIDER_TIMEOUT": "2.0",
    # Longer than a payment request can take with that timeout, so the sweeper asks only about abandoned ones.
    "PAYMENT_STALE_SECONDS": "4",
    "PAYMENT_SWEEP_SECONDS": "1",
}


@contextmanager
def started_stack(tag, settings=None, service_settings=None):
    """The services on free ports with databases of their own, stopped and dropped after.

    ``settings`` are added to every service's environment, ``service_settings``
    ({service: settings}) to one's. Each stack keeps its revocation records under a
    prefix of its own: two stacks' users with one id must not share records.
    """
    databases = create_test_databases(tag)
    own_prefix = {"REVOCATION_KEY_PREFIX": f"{TEST_REVOCATION_PREFIX}{tag}:"}
    running = ThrowawayStack(
        databases, {**SETTINGS, **own_prefix, **(settings or {})}, isolated=True, service_settings=service_settings
    )
    try:
        running.bootstrap_admin()
        running.start_all()
        yield running
    finally:
        running.remove()
        drop_test_databases(databases)


def service_environment(service, port, databases, service_urls, **settings):
    """The environment of one process of ``service`` on ``port`` that a tier starts its own way.

    Every setting is given (a developer's ``.env`` files cannot leak in), the test values
    above first, and this run's revocation records apart from every other stack's in the
    shared Redis; ``settings`` win. ``service_urls`` says where it finds the others.
    """
    own_prefix = {"REVOCATION_KEY_PREFIX": TEST_REVOCATION_PREFIX}
    return stack_environment(service, port, databases, service_urls, {**SETTINGS, **own_prefix, **settings})


@pytest.fixture
def api(stack):
    """A requests session whose paths are relative to the gateway."""

    class Api(requests.Session):
        def request(self, method, url, *args, **kwargs):
            kwargs.setdefault("timeout", 10)
            return super().request(method, stack.gateway + url, *args, **kwargs)

    with Api() as session:
        yield session


@pytest.fixture
def admin_headers(api):
    response = api.post("/api/users/login", json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def user(api):
    """A customer registered and logged in through the stack's gateway: (user id, headers)."""
    return new_user(api)


@pytest.fixture
def shop(stack, admin_headers):
    return Shop(stack, admin_headers)


def new_user(api):
    """A customer registered and logged in through the stack's gateway: (user id, headers)."""
    username, password = unique_name(), "gateway-password-1"
    registered = api.post("/api/users/register", json={"username": username, "password": password})
    assert registered.status_code == 201, registered.text
    login = api.post("/api/users/login", json={"username": username, "password": password})
    assert login.status_code == 200, login.text
    return registered.json()["userId"], {"Authorization": f"Bearer {login.json()['access_token']}"}


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


def run_concurrently(tasks, workers=50):
    """Run the callables at once (released together by a barrier); return their results."""
    barrier = threading.Barrier(min(workers, len(tasks)))

    def start_together(task):
        barrier.wait()
        return task()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(start_together, tasks))


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


def with_load_while(shop, disrupt, seconds_before=0.7):
    """Orders placed and cancelled by six clients on two fresh products while ``disrupt()`` runs;
    (product ids, statuses seen)."""
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
