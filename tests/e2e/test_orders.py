"""Orders through the gateway against the five real processes: races (tests/journeys.py), failures, crashes.

The invariant every test ends on, for each product it made:
    initial stock = current stock + units in orders that are not cancelled.
"""

import os
import signal
import time

import pytest

from tests.journeys import (  # noqa: F401
    test_an_idempotent_retry_through_the_gateway_never_reserves_twice,
    test_concurrent_orders_and_cancellations_keep_stock_balanced,
    test_fifty_buyers_racing_for_ten_units_never_oversell,
)
from tests.stacks import LOAD_STOCK, with_load_while


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
