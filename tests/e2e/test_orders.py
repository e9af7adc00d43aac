"""Orders through the gateway against the five real processes: races, failures, crashes.

The invariant every test ends on, for each product it made:
    initial stock = current stock + units in orders that are not cancelled.
"""

import os
import signal
import time

import pytest

from tests.stacks import LOAD_STOCK, run_concurrently, with_load_while
from tests.support import unique_name


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


def test_stopping_the_product_service_mid_run_loses_no_stock(shop, stack):
    def stop_product_then_restart():
        stack.stop("product")
        time.sleep(1.0)
        stack.start("product")

    products, statuses = with_load_while(shop, stop_product_then_restart)
    assert 201 in statuses and 503 in statuses, statuses
    assert 500 not in statuses
    shop.assert_stock_balances(dict.fromkeys(products, LOAD_STOCK))


def test_killing_the_transaction_service_mid_run_loses_no_stock(shop, stack):
    def kill_and_restart():
        pid = int((stack.run_dir / "transaction.pid").read_text())
        os.killpg(pid, signal.SIGKILL)
        time.sleep(0.3)
        stack.start("transaction")

    products, statuses = with_load_while(shop, kill_and_restart)
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
