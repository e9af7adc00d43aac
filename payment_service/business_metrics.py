"""The payment service's business metrics (``/metrics`` of the payment service).

- ``shop_payments_total{outcome}``: payments settled, by outcome (``captured``,
  ``declined``, ``failed``: the provider did not know the method), and
  ``unknown``: a call to the provider that got no answer (the payment stays pending);
- ``shop_refunds_total`` and ``shop_refunded_amount_total``: refunds made, and how much.
"""

from decimal import Decimal

from prometheus_client import Counter

PAYMENTS = Counter("shop_payments_total", "Payments by outcome.", ["outcome"])
REFUNDS = Counter("shop_refunds_total", "Payments refunded in full.")
REFUNDED_AMOUNT = Counter("shop_refunded_amount_total", "Money refunded (in the shop's currency).")


def payment_outcome(outcome: str) -> None:
    PAYMENTS.labels(outcome).inc()


def refunded(amount: Decimal) -> None:
    REFUNDS.inc()
    REFUNDED_AMOUNT.inc(float(amount))
