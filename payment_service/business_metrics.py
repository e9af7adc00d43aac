"""The payment service's business metrics (``/metrics`` of the payment service).

- ``shop_payments_total{outcome}``: payments settled, by outcome (``captured``,
  ``declined``, ``failed``: the provider did not know the method), and
  ``unknown``: a call to the provider that got no answer (the payment stays pending);
- ``shop_refunds_total`` and ``shop_refunded_amount_total``: refunds made, and how much;
- ``shop_payments_pending_stale``: payments still pending past ``PAYMENT_STALE_SECONDS``
  (the provider never saw them, and their caller has not asked again), counted in the
  database at each scrape.
"""

from collections.abc import Iterator
from decimal import Decimal

from flask import Flask
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

from shop_common import metrics

from . import repository

PAYMENTS = Counter("shop_payments_total", "Payments by outcome.", ["outcome"])
REFUNDS = Counter("shop_refunds_total", "Payments refunded in full.")
REFUNDED_AMOUNT = Counter("shop_refunded_amount_total", "Money refunded (in the shop's currency).")


def payment_outcome(outcome: str) -> None:
    PAYMENTS.labels(outcome).inc()


def refunded(amount: Decimal) -> None:
    REFUNDS.inc()
    REFUNDED_AMOUNT.inc(float(amount))


def init_app(app: Flask) -> None:
    """Count the stale pending payments at each scrape."""
    metrics.add_collector(app, StalePendingPayments(app))


class StalePendingPayments:
    """``shop_payments_pending_stale``, read from the database when Prometheus scrapes."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        threshold = self.app.config["PAYMENT_STALE_SECONDS"]
        gauge = GaugeMetricFamily("shop_payments_pending_stale", f"Payments still pending after {threshold} s.")
        gauge.add_metric([], repository.count_stale_pending_payments(threshold))
        yield gauge
