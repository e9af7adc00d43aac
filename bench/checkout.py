"""Checkouts by concurrent Python clients: fill the cart, then ``POST /api/checkout``.

Each client is a thread with its own ``requests.Session`` and its own customer (a
user has one checkout settling at a time, so clients never share one), and repeats:
put two products in the cart (not timed: two cart requests), then check out with the
sandbox's test card (timed), which reserves the stock, charges through the payment
service and the sandbox, and empties the cart. Anything but 201 is an error.
"""

import itertools
import time
import uuid

from .journey import JourneyFailed, _call, run_clients


def run_checkouts(gateway, shop, clients, seconds):
    """Check out for ``seconds``: checkouts per second and the latency of ``POST /api/checkout``.

    :raise JourneyFailed: fewer than two checkouts completed.
    """
    deadline = time.monotonic() + seconds
    numbers = itertools.count()

    def checkouts(session, customer, durations, failures):
        session.headers["Authorization"] = f"Bearer {customer.token}"
        while time.monotonic() < deadline:
            try:
                durations.append(_check_out(session, gateway, customer, shop.product_ids, next(numbers)))
            except JourneyFailed as failure:
                failures.append(str(failure))

    measurement, _ = run_clients(shop.customers[:clients], "checkout", checkouts)
    return measurement


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
