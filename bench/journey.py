"""The mixed journey: what one shopper does, by concurrent Python clients.

Each client is a thread with its own ``requests.Session`` (keep-alive, as a
browser would) and its own customer, and repeats: browse the product list, read
a product, log in, order two products, read the order, cancel it. The run ends
at a time limit or a journey count, whichever comes first. A journey with an
unexpected status or a failed request is one error; it is not timed.
"""

import itertools
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from .measurement import Measurement

REQUEST_TIMEOUT_SECONDS = 10
FAILURES_KEPT = 5


class JourneyFailed(Exception):
    """A step of a journey did not answer as it should."""


def run_journeys(gateway, shop, clients, seconds, max_journeys):
    """Run journeys for at most ``seconds`` and ``max_journeys``.

    :return: the :class:`Measurement` (journeys per second, latency of a whole
        journey) and the first failures, described.
    """
    deadline = time.monotonic() + seconds
    journey_numbers = itertools.count()

    def journeys(session, customer, durations, failures):
        while time.monotonic() < deadline and (journey_number := next(journey_numbers)) < max_journeys:
            started = time.monotonic()
            try:
                _journey(session, gateway, customer, shop.product_ids, journey_number)
            except JourneyFailed as failure:
                failures.append(str(failure))
            else:
                durations.append(time.monotonic() - started)

    customers = [shop.customers[number % len(shop.customers)] for number in range(clients)]
    return run_clients(customers, "journey", journeys)


def run_clients(customers, what, work):
    """Run ``work(session, customer, durations, failures)`` in a thread per customer, each with its own
    ``requests.Session``; ``work`` adds the seconds each ``what`` took, or its failure, described.

    :return: the :class:`Measurement` of the durations and the first failures.
    :raise JourneyFailed: fewer than two completed.
    """
    durations, failures = [], []  # list.append is atomic: the threads share them without a lock

    def client(customer):
        with requests.Session() as session:
            work(session, customer, durations, failures)

    started = time.monotonic()
    with ThreadPoolExecutor(len(customers)) as pool:
        list(pool.map(client, customers))
    elapsed = time.monotonic() - started
    if len(durations) < 2:
        raise JourneyFailed(f"only {len(durations)} {what}(s) completed; failures: {failures[:FAILURES_KEPT]}")
    percentiles = statistics.quantiles(durations, n=100, method="inclusive")
    measurement = Measurement(
        per_second=len(durations) / elapsed,
        p50_ms=percentiles[49] * 1000,
        p99_ms=percentiles[98] * 1000,
        errors=len(failures),
        completed=len(durations),
    )
    return measurement, failures[:FAILURES_KEPT]


def _journey(session, gateway, customer, product_ids, journey_number):
    product_id = product_ids[journey_number % len(product_ids)]
    other_product_id = product_ids[(journey_number + 1) % len(product_ids)]
    _call(session, "browse", "GET", f"{gateway}/api/products?limit=100", 200)
    _call(session, "read product", "GET", f"{gateway}/api/products/{product_id}", 200)
    token = _call(
        session,
        "log in",
        "POST",
        f"{gateway}/api/users/login",
        200,
        json={"username": customer.username, "password": customer.password},
    ).json()["access_token"]
    authorization = {"Authorization": f"Bearer {token}"}
    order_id = _call(
        session,
        "order",
        "POST",
        f"{gateway}/api/transactions",
        201,
        headers=authorization,
        json={
            "customerId": customer.customer_id,
            "items": [{"productId": product_id, "quantity": 1}, {"productId": other_product_id, "quantity": 1}],
        },
    ).json()["id"]
    _call(session, "read order", "GET", f"{gateway}/api/transactions/{order_id}", 200, headers=authorization)
    _call(
        session,
        "cancel",
        "PUT",
        f"{gateway}/api/transactions/{order_id}/status",
        200,
        headers=authorization,
        json={"status": "cancelled"},
    )


def _call(session, step, method, url, expected_status, **kwargs):
    """The response. :raise JourneyFailed: another status, or no answer."""
    try:
        response = session.request(method, url, timeout=REQUEST_TIMEOUT_SECONDS, **kwargs)
    except requests.RequestException as error:
        raise JourneyFailed(f"{step}: {method} {url}: {error}") from error
    if response.status_code != expected_status:
        raise JourneyFailed(f"{step}: {method} {url}: {response.status_code} {response.text[:200]}")
    return response
