"""Two of every service behind HAProxy, two gateways: the shop still works, scales out and stops well.

The end-to-end journey, the Postman collection and the order races run here
unchanged, through the gateways' HAProxy frontend (requests alternate between the
two gateways, orders between the two transaction services, and so on). Every
order test ends on the stock invariant (initial = current + units in orders not
cancelled): an oversold unit, a lost one, or an order released twice by the two
transaction services' sweepers would each break it.
"""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from shop_common.settings import SERVICES
from tests.journeys import *  # noqa: F403 (every journey, against this tier's stack)
from tests.replicas import haproxy
from tests.replicas.conftest import REPLICAS
from tests.stacks import LOAD_STOCK, with_load_while
from tests.support import unique_name
from tools import stack as launcher


def test_both_replicas_of_every_service_are_in_rotation_and_both_gateways_serve(stack):
    assert haproxy.server_states(stack.run_dir) == {
        f"{service}-{replica}": "UP" for service in SERVICES for replica in REPLICAS
    }
    request_ids = [f"rotation-{uuid.uuid4().hex}" for _ in range(8)]
    for request_id in request_ids:
        assert requests.get(stack.gateway + "/", headers={"X-Request-ID": request_id}, timeout=5).ok
    for replica in REPLICAS:
        log = (stack.replica_dir("gateway", replica) / "gateway.log").read_text()
        assert any(request_id in log for request_id in request_ids), f"gateway {replica} got no request"


def test_the_two_gateways_count_one_rate_limit_in_redis(stack):
    """Alternating gateways, a client's remaining quota falls by one per request: one counter, in Redis."""
    username, password = unique_name(), "limit-password-1"
    requests.post(
        stack.gateway + "/api/users/register", json={"username": username, "password": password}, timeout=10
    ).raise_for_status()
    token = requests.post(
        stack.gateway + "/api/users/login", json={"username": username, "password": password}, timeout=10
    ).json()["access_token"]
    remaining = []
    for n in range(10):
        gateway = stack.replica_url("gateway", REPLICAS[n % 2])
        answer = requests.get(
            gateway + "/api/products?limit=1", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert answer.status_code == 200, answer.text
        remaining.append(int(answer.headers["X-RateLimit-Remaining"]))
    assert remaining == list(range(remaining[0], remaining[0] - 10, -1)), remaining


def test_killing_a_product_and_a_transaction_replica_mid_run_loses_no_stock(shop, stack):
    """SIGKILL: no drain. Orders in flight on the killed replicas fail; the saga and the sweepers
    of the transaction services settle them, and the other replicas carry on."""

    def kill_then_restart():
        stack.kill("product", 1)
        stack.kill("transaction", 1)
        stack.start("product", 1)
        stack.start("transaction", 1)

    products, statuses = with_load_while(shop, kill_then_restart, seconds_before=1.5)
    assert statuses.count(201) > 20, statuses
    assert "connection error" not in statuses and 500 not in statuses, statuses
    shop.assert_stock_balances(dict.fromkeys(products, LOAD_STOCK), within_seconds=45)


def test_sigterm_to_one_replica_of_every_service_under_load_fails_no_request(shop, stack):
    """SIGTERM: each stopped replica fails its readiness, HAProxy moves away, the replica finishes
    what it has and exits; then it is started again. Not one request may fail meanwhile."""

    def stop_then_restart_one_of_each():
        with ThreadPoolExecutor(max_workers=len(SERVICES)) as pool:
            list(pool.map(lambda service: stack.stop(service, 1), SERVICES))
        for service in SERVICES:
            assert haproxy.server_states(stack.run_dir)[f"{service}-1"].startswith("DOWN")
        for service in SERVICES:
            stack.start(service, 1)

    products, statuses = with_load_while(shop, stop_then_restart_one_of_each, seconds_before=1.5)
    assert statuses.count(201) > 20
    assert set(statuses) == {200, 201}, [status for status in statuses if status not in (200, 201)]
    shop.assert_stock_balances(dict.fromkeys(products, LOAD_STOCK), within_seconds=0)


def test_orders_a_crash_left_half_way_are_rolled_back_once_by_the_two_sweepers(shop, stack):
    """A third transaction process (same database, no sweeper of its own) exits right after
    reserving each order's stock. Both replicas' sweepers find the abandoned orders and race for
    them: each is rolled back once, and the stock ends where it began (a second release would
    put it above)."""
    product_id = shop.create_product(stock=20)
    customer_id, headers = shop.new_customer()
    crashing = stack.start_extra("transaction", "crashing", FAULT_CRASH_AT="after_reserve", SAGA_SWEEP_SECONDS="0")
    try:
        for _ in range(5):
            _wait_until_live(crashing)
            with pytest.raises(requests.ConnectionError):
                requests.post(
                    crashing + "/api/transactions",
                    headers=headers,
                    timeout=20,
                    json={"customerId": customer_id, "items": [{"productId": product_id, "quantity": 2}]},
                )
    finally:
        stack.stop("transaction", "crashing")
    assert shop.stock(product_id) == 10  # reserved, by orders no process is finishing
    shop.assert_stock_balances({product_id: 20}, within_seconds=60)
    assert shop.stock(product_id) == 20
    assert "sweep settled" in stack.log("transaction")


def _wait_until_live(url, timeout=20):
    assert launcher.wait_until_ready(url + "/health/live", timeout=timeout), f"{url} did not come back"
