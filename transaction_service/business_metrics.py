"""The order saga's business metrics (``/metrics`` of the transaction service).

- ``shop_orders_created_total``; ``shop_orders_refused_total{reason}``, ``reason``
  one of ``validation``, ``ownership``, ``not_found``, ``stock``, ``idempotency``,
  ``unavailable`` (an order the caller was allowed to try and did not get);
- ``shop_idempotent_replays_total``: answers repeated for a known Idempotency-Key;
- ``shop_saga_steps_failed_total{step}`` (``reserve``, ``release``) and
  ``shop_saga_steps_retried_total{step}`` (the sweeper taking a step up again);
- ``shop_saga_orders_settled_total``: orders the sweeper finished;
- ``shop_checkouts_total{outcome}``: ``paid``, ``declined`` (402, 400: nothing charged),
  ``unsettled`` (503, 504: the payment's outcome unknown, settled by the sweeper),
  ``refused`` (any other refusal: empty cart, stock, ownership, ...);
  ``shop_checkout_duration_seconds``: the latency of ``POST /api/checkout``;
- ``shop_checkout_charges_settled_total{outcome}``: charges settled by a checkout or the sweeper
  (``paid``, ``dropped``, ``unsettled``); ``shop_checkout_refunds_total``: paid orders refunded on a cancel;
- ``shop_saga_orders_stuck``: orders still reserving or releasing after
  ``SAGA_STUCK_SECONDS``, counted in the database at each scrape (so it is right
  even when the sweeper is the thing that is stuck).

The saga and the routes call one-line functions here; the metric objects live here alone.
"""

from functools import wraps
from time import perf_counter

from flask import current_app
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from werkzeug.exceptions import HTTPException

from shop_common import metrics
from shop_common.errors import ApiError

from . import repository

ORDERS_CREATED = Counter("shop_orders_created_total", "Orders created.")
ORDERS_REFUSED = Counter("shop_orders_refused_total", "Order attempts refused, by reason.", ["reason"])
IDEMPOTENT_REPLAYS = Counter("shop_idempotent_replays_total", "Answers replayed for a known Idempotency-Key.")
SAGA_STEPS_FAILED = Counter("shop_saga_steps_failed_total", "Saga steps that failed, by step.", ["step"])
SAGA_STEPS_RETRIED = Counter("shop_saga_steps_retried_total", "Saga steps taken up again by the sweeper.", ["step"])
CHECKOUTS = Counter("shop_checkouts_total", "Checkouts, by outcome.", ["outcome"])
CHECKOUT_SECONDS = Histogram("shop_checkout_duration_seconds", "Time to answer POST /api/checkout.")
PAYMENTS_SETTLED = Counter("shop_checkout_charges_settled_total", "Checkout charges settled, by outcome.", ["outcome"])
REFUNDS = Counter("shop_checkout_refunds_total", "Paid orders refunded when cancelled.")
ORDERS_SETTLED = Counter("shop_saga_orders_settled_total", "Half-way orders the sweeper settled.")

# error code -> reason; otherwise the reason follows the status (REASONS_BY_STATUS).
REASONS_BY_CODE = {"idempotency_key_in_progress": "idempotency", "total_too_large": "validation"}
REASONS_BY_STATUS = {
    400: "validation",
    403: "ownership",
    404: "not_found",
    409: "stock",
    415: "validation",
    422: "idempotency",
}


def init_app(app):
    """Count stuck orders at each scrape."""
    metrics.add_collector(app, StuckOrders(app))


def counts_orders(view):
    """Decorate the order-creating view: count what became of the attempt."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except (ApiError, HTTPException) as error:
            ORDERS_REFUSED.labels(refusal_reason(error)).inc()
            raise
        if response.headers.get("Idempotent-Replayed"):
            IDEMPOTENT_REPLAYS.inc()
        elif response.status_code == 201:
            ORDERS_CREATED.inc()
        return response

    return wrapper


def counts_checkouts(view):
    """Decorate the checkout view: its latency and what became of it."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        started_at = perf_counter()
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except (ApiError, HTTPException) as error:
            CHECKOUTS.labels(checkout_refusal(error)).inc()
            raise
        finally:
            CHECKOUT_SECONDS.observe(perf_counter() - started_at)
        if response.headers.get("Idempotent-Replayed"):
            IDEMPOTENT_REPLAYS.inc()
        else:
            CHECKOUTS.labels("paid").inc()
        return response

    return wrapper


def checkout_refusal(error):
    status = error.status if isinstance(error, ApiError) else error.code
    if getattr(error, "code", None) in ("payment_declined", "unknown_payment_method"):
        return "declined"
    return "unsettled" if status >= 500 else "refused"


def payment_settled(outcome):
    PAYMENTS_SETTLED.labels(outcome).inc()


def refunded():
    REFUNDS.inc()


def refusal_reason(error):
    status = error.status if isinstance(error, ApiError) else error.code
    if status >= 500:
        return "unavailable"
    return REASONS_BY_CODE.get(getattr(error, "code", None)) or REASONS_BY_STATUS.get(status, "other")


def step_failed(step):
    SAGA_STEPS_FAILED.labels(step).inc()


def step_failed_unless_refused(step, error):
    """A step that ended in ``error``: a 5xx (no answer) is a failed step, a 4xx the service's refusal."""
    if error.status >= 500:
        step_failed(step)


def step_retried(step):
    SAGA_STEPS_RETRIED.labels(step).inc()


def orders_settled(count):
    ORDERS_SETTLED.inc(count)


class StuckOrders:
    """``shop_saga_orders_stuck``, read from the database when Prometheus scrapes."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        threshold = self.app.config["SAGA_STUCK_SECONDS"]
        gauge = GaugeMetricFamily("shop_saga_orders_stuck", f"Orders still reserving or releasing after {threshold} s.")
        gauge.add_metric([], repository.count_unsettled_orders(threshold))
        yield gauge
