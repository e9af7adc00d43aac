"""Paying for an order, and refunding it, so that nothing is ever charged twice.

A payment is recorded ``pending`` under the caller's Idempotency-Key before the
provider is asked, and the provider is sent the same key. Then:

- the provider answers: the row moves to ``captured``, ``declined`` or ``failed``
  (an unknown payment method) in one conditional UPDATE (``WHERE status =
  'pending'``), so a retry and the sweeper racing settle it once;
- the provider is down, fails or times out: the row stays ``pending`` and the
  caller gets 503 or 504. The same request again asks the provider again with the
  same key, which makes the one charge or answers the one it made: retrying is
  always safe. A settled payment is answered from its row, the provider not asked.

The sweeper (:func:`sweep`) takes payments left pending longer than
``PAYMENT_STALE_SECONDS`` and asks the provider what the key made: a charge
settles the row as the provider recorded it; no charge leaves it pending, for the
caller's retry to make (the sweeper never charges on its own).

A refund is of a captured payment, in full, under the caller's key: ``refunded``
once the provider confirms; a refunded payment is answered again without asking.
"""

import logging
from decimal import Decimal

from shop_common.db import DuplicateKey, Row
from shop_common.errors import ApiError, found

from . import business_metrics, repository
from .providers import CAPTURED, DECLINED, UNKNOWN_METHOD, ChargeOutcome, PaymentProvider

log = logging.getLogger(__name__)

CURRENCY = "usd"
STATUS_OF_OUTCOME = {CAPTURED: "captured", DECLINED: "declined", UNKNOWN_METHOD: "failed"}


class PaymentRefused(Exception):
    """A settled payment that did not capture: declined (402) or failed, the method unknown (400)."""

    def __init__(self, payment: Row) -> None:
        super().__init__(payment["status"])
        self.payment = payment


def pay(provider: PaymentProvider, key: str, order_id: int, amount: Decimal, payment_method: str) -> Row:
    """The captured payment made for ``order_id`` under ``key``, charged at most once however often asked.

    :raise PaymentRefused: declined, or the payment method unknown (settled: asked again, the same).
    :raise 422: ``key`` was used for another order, amount or method.
    :raise 503, 504: the provider is down or slow: the payment stays pending, ask again.
    """
    try:
        payment_id = repository.insert_pending_payment(order_id, key, amount, CURRENCY, payment_method)
        payment = found(repository.find_payment(payment_id), "The payment just recorded is gone.")
    except DuplicateKey:
        payment = found(repository.find_payment_by_key(key), "The payment of this key is gone.")
        _same_request(payment, order_id, amount, payment_method)
    if payment["status"] == "pending":
        payment = _ask_provider(provider, payment)
    if payment["status"] in ("declined", "failed"):
        raise PaymentRefused(payment)
    return payment


def _same_request(payment: Row, order_id: int, amount: Decimal, payment_method: str) -> None:
    """:raise 422: the payment recorded under this key was for another order, amount or method."""
    if (payment["order_id"], payment["amount"], payment["payment_method"]) != (order_id, amount, payment_method):
        raise ApiError(
            422,
            "This Idempotency-Key was used for another payment (order, amount or method).",
            code="idempotency_key_reused",
        )


def _ask_provider(provider: PaymentProvider, payment: Row) -> Row:
    """Charge at the provider under the payment's key and settle the row as it answers.

    :raise 503, 504: no answer; the row stays pending.
    """
    try:
        outcome = provider.charge(
            payment["idempotency_key"],
            payment["amount"],
            payment["currency"],
            payment["payment_method"],
            payment["order_id"],
        )
    except ApiError:
        business_metrics.payment_outcome("unknown")
        raise
    return settle(payment, outcome)


def settle(payment: Row, outcome: ChargeOutcome) -> Row:
    """Record the provider's ``outcome`` on a pending payment (once: a race settles it once); return the row now."""
    status = STATUS_OF_OUTCOME[outcome.outcome]
    if repository.settle_payment(payment["id"], status, outcome.reference, outcome.reason):
        business_metrics.payment_outcome(status)
    return found(repository.find_payment(payment["id"]), f"Payment {payment['id']} is gone.")


def refund(provider: PaymentProvider, payment_id: int, key: str) -> Row:
    """Refund the captured payment in full under ``key``; a refunded one is answered as it is.

    :raise 404: no such payment. :raise 409: the payment was never captured.
    :raise 503, 504: the provider is down or slow: nothing recorded here, ask again.
    """
    payment = found(repository.find_payment(payment_id), f"Payment {payment_id} was not found.")
    if payment["status"] == "refunded":
        return payment
    if payment["status"] != "captured":
        raise ApiError(
            409,
            f"Payment {payment_id} is {payment['status']}, not captured: there is nothing to refund.",
            code="payment_not_captured",
        )
    provider.refund(key, payment["provider_reference"], payment["amount"])
    if repository.mark_refunded(payment_id, key):
        business_metrics.refunded(payment["amount"])
    return found(repository.find_payment(payment_id), f"Payment {payment_id} is gone.")


def sweep(provider: PaymentProvider, older_than_seconds: int) -> int:
    """Settle the payments left pending from what the provider recorded under their keys; return how many."""
    settled = 0
    for payment in repository.stale_pending_payments(older_than_seconds):
        try:
            outcome = provider.find_charge(payment["idempotency_key"])
        except ApiError as error:
            log.warning("payment %s stays pending: %s", payment["id"], error.message)
            continue
        if outcome is not None:
            settle(payment, outcome)
            settled += 1
    if settled:
        log.info("sweep settled %d payment(s)", settled)
    return settled
