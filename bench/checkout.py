"""Checkouts by concurrent Python clients: fill the cart, then ``POST /api/checkout``.

Each client is a thread with its own ``requests.Session`` and its own customer (a
user has one checkout settling at a time, so clients never share one), and repeats:
put two products in the cart (not timed: two cart requests), then check out with the
sandbox's test card (timed), which reserves the stock, charges through the payment
service and the sandbox, and empties the cart. Anything but 201 is an error.
"""

import itertools
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from .journey import FAILURES_KEPT, JourneyFailed, _call
from .measurement import Measurement


def run_checkouts(gateway, shop, clients, seconds):
    """Check out for ``seconds``: checkouts per second and the latency of ``POST /api/checkout``.

    :raise JourneyFailed: fewer than two checkouts completed.
    """
    deadline = time.monotonic() + seconds
    numbers = itertools.count()
    durations, failures = [], []  # list.append is atomic: the threads share them without a lock

    def client(client_number):
        customer = shop.customers[client_number % len(shop.customers)]
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {customer.token}"
            while time.monotonic() < deadline:
                try:
                    durations.append(_check_out(session, gateway, customer, shop.product_ids, next(numbers)))
                except JourneyFailed as failure:
                    failures.append(str(failure))

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(min(clients, len(shop.customers)))))
    elapsed = time.monotonic() - started
    if len(durations) < 2:
        raise JourneyFailed(f"only {len(durations)} checkout(s) completed; failures: {failures[:FAILURES_KEPT]}")
    percentiles = statistics.quantiles(durations, n=100, method="inclusive")
    return Measurement(
        per_second=len(durations) / elapsed,
        p50_ms=percentiles[49] * 1000,
        p99_ms=percentiles[98] * 1000,
        errors=len(failures),
        completed=len(durations),
    )


def _check_out(session, gateway, customer, product_ids, number):
    """Fill the cart with two products, check out; the checkout's duration in seconds."""
    for offset in (0, 1):
        product_id = product_ids[(number + offset) % len(product_ids)]
        _call(session, "cart", "PUT", f"{gateway}/api/cart/items/{product_id}", 200, json={"quantity": 1})
    started = time.monotonic()
    _call(
        session,
        "checkout",
        "POST",
        f"{gateway}/api/checkout",
        201,
        headers={"Idempotency-Key": str(uuid.uuid4())},
        json={"customerId": customer.customer_id, "paymentMethod": "pm_card_visa"},
    )
    return time.monotonic() - started
