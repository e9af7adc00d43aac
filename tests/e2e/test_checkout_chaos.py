"""The chaos case of issue 22: 100 checkouts by 20 users at once while the payment service, then the
transaction service, then the sandbox are killed with SIGKILL and started again.

A stack of its own, so the sandbox's ledger holds this test's charges alone. Each user checks
out five times in a row (a card declined now and then), retrying a checkout that got no answer
with the same Idempotency-Key until it is answered, as a client should. After recovery:

- every order is paid, none left pending; each user has as many paid orders as checkouts answered 201;
- the money invariant: every paid order has exactly one charge in the ledger, captured for its
  total and not refunded; no captured charge belongs to no order;
- the stock invariant: initial stock = current stock + units held by orders not cancelled;
- each cart was emptied exactly when its checkout was paid: after a paid checkout it is empty,
  after a declined one it still holds the line.
"""

import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.test_checkout import Checkout
from tests.stacks import ADMIN_PASSWORD, ADMIN_USERNAME, started_stack

USERS = 20
CHECKOUTS_PER_USER = 5
STOCK = 1000
# A checkout that gets no answer is retried with its key for at most this long.
SETTLE_SECONDS = 120
# What the clients saw instead of an answer while services were down (shows the kills hit live traffic).
disruptions: list[str] = []


@pytest.fixture(scope="module")
def chaos_stack():
    with started_stack("chaos") as running:
        yield running


@pytest.fixture
def shop(chaos_stack):
    login = requests.post(
        chaos_stack.gateway + "/api/users/login",
        json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
        timeout=10,
    )
    return Checkout(chaos_stack, {"Authorization": f"Bearer {login.json()['access_token']}"})


def answered(shop, call):
    """``call()``'s response once it is an answer of the service (not the gateway's 503/504, not a broken
    connection, not 409 for a key still settling): retried for up to ``SETTLE_SECONDS``."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        try:
            response = call()
            unsettled = response.status_code in (503, 504) or (
                response.status_code == 409
                and response.json()["error"] in ("idempotency_key_in_progress", "checkout_in_progress")
            )
            if not unsettled:
                return response
            disruptions.append(str(response.status_code))
        except requests.RequestException as error:
            disruptions.append(type(error).__name__)
        assert time.monotonic() < deadline, "a checkout was never settled"
        time.sleep(0.3)


def shop_as_user(shop, customer_id, headers, products, index):
    """Five checkouts in a row; each result is (outcome status, the cart right after)."""
    results = []
    for round_number in range(CHECKOUTS_PER_USER):
        product_id = products[(index + round_number) % len(products)]
        line = answered(
            shop, lambda p=product_id: shop.call("PUT", f"/api/cart/items/{p}", headers=headers, json={"quantity": 2})
        )
        assert line.status_code == 200, line.text
        declined = (index + round_number) % 4 == 0
        method = "pm_card_chargeDeclined" if declined else "pm_card_visa"
        key = str(uuid.uuid4())
        outcome = answered(shop, lambda m=method, k=key: shop.check_out(customer_id, headers, m, k))
        assert outcome.status_code in (201, 402), outcome.text
        cart = answered(shop, lambda: shop.call("GET", "/api/cart", headers=headers))
        results.append((outcome.status_code, cart.json()["items"]))
        if outcome.status_code == 402:
            answered(shop, lambda: shop.call("DELETE", "/api/cart", headers=headers))
    return results


def kill_and_restart(stack, service):
    os.killpg(int((stack.run_dir / f"{service}.pid").read_text()), signal.SIGKILL)
    time.sleep(0.3)
    stack.start(service)


def test_checkouts_survive_killing_payment_then_transaction_then_sandbox(shop, chaos_stack):
    products = [shop.create_product(stock=STOCK, price="2.50") for _ in range(4)]
    users = [shop.new_customer() for _ in range(USERS)]
    with ThreadPoolExecutor(max_workers=USERS) as pool:
        runs = [
            pool.submit(shop_as_user, shop, customer_id, headers, products, index)
            for index, (customer_id, headers) in enumerate(users)
        ]
        for service in ("payment", "transaction", "sandbox"):
            time.sleep(1.5)
            kill_and_restart(chaos_stack, service)
        results = [run.result() for run in runs]
    assert disruptions, "no checkout was in flight while the services were killed"
    for user_results in results:
        for status, cart_after in user_results:
            assert (status == 201) == (cart_after == []), user_results
    orders = shop.wait_for(lambda: _all_settled(shop), seconds=60, what="recovery")
    paid = {order["id"]: order for order in orders if order["status"] == "paid"}
    assert len(orders) == len(paid), [order["status"] for order in orders]
    assert len(paid) == sum(status == 201 for user_results in results for status, _ in user_results)
    _assert_money_invariant(shop, paid)
    shop.assert_stock_balances(dict.fromkeys(products, STOCK), within_seconds=30)


def _all_settled(shop):
    """Every order of the shop when none is pending any more, else None."""
    orders = shop.call("GET", "/api/transactions?limit=500", headers=shop.admin).json()
    return None if any(order["status"] == "pending" for order in orders) else orders


def _assert_money_invariant(shop, paid):
    ledger = shop.sandbox.ledger()
    captured = [charge for charge in ledger if charge["status"] == "succeeded"]
    for order_id, order in paid.items():
        charges = [charge for charge in captured if charge["metadata"]["order_id"] == str(order_id)]
        assert [(c["amount_captured"], c["amount_refunded"]) for c in charges] == [(order["total_amount"], "0.00")], (
            order_id
        )
    orphans = [charge for charge in captured if int(charge["metadata"]["order_id"]) not in paid]
    assert orphans == [], orphans
