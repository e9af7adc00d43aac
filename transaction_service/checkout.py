"""Checkout: the caller's cart becomes an order, paid through the payment service.

The steps, each a move of the order row (``status``/``stock_state``/``payment_state``):

1. record the order (pending/reserving/charging) with the cart's lines, under the
   cart's lock: a user has one checkout settling at a time (409
   ``checkout_in_progress`` for another, and for cart changes meanwhile);
2. hold the stock (the order saga, saga.py): pending/held/charging;
3. ask the payment service to charge the total with the key
   ``order-<reference>-charge``, which it passes on to the provider;
4. by the answer (lifecycle.checkout_outcome): captured → paid/captured and the
   cart emptied, in one database transaction; declined or an unknown method
   (nothing charged) → the stock released and the order dropped, the cart kept;
   no answer (the provider or the payment service slow, failing or down) → the
   order stays pending with its payment unknown and the request answers 503/504.

A late charge: :func:`sweep` takes checkouts left charging longer than
``SAGA_STALE_SECONDS`` and asks for the same charge again with the same key. The
provider's idempotency makes the one charge or answers the one it made, so the
order is paid (and its cart emptied) when the charge succeeded, dropped when it was
declined, and nothing is ever charged twice. So a charge never stays without a paid
order, and no order is paid without a charge.

Cancelling a paid order (lifecycle: owner or admin, before it ships): one
conditional UPDATE paid → cancelled with ``payment_state`` refunding and the
stock releasing; only the caller that made it refunds (key
``order-<reference>-refund``) and releases; the sweeper finishes what a crash or
an outage left. Both calls are idempotent, so the refund and the restock happen
exactly once however often the cancel is retried.
"""

import logging
import uuid
from datetime import UTC, datetime

from flask import current_app

from shop_common.auth import Caller
from shop_common.errors import ApiError
from shop_common.http_client import service_client

from . import business_metrics, lifecycle, repository, saga
from .cart import cart_unlocked
from .orders import new_order
from .owners import order_owner

log = logging.getLogger(__name__)


class PaymentRefused(ApiError):
    """402 ``payment_declined`` (with ``reason``) or 400 ``unknown_payment_method``: nothing was charged.

    Stored with the Idempotency-Key and answered again for it, as a 201 is.
    """

    replayed = True

    def __init__(self, status, answer):
        super().__init__(status, answer.get("message", "The payment was refused."), code=answer.get("error"))
        self.reason = answer.get("reason")

    def body(self):
        body = super().body()
        if self.reason:
            body["reason"] = self.reason
        return body


class PaymentUnsettled(ApiError):
    """503/504: the charge's outcome is unknown; the order stays pending and the sweeper settles it.

    The Idempotency-Key stays linked to the order (idempotency.create_once keeps it), so a retry
    with the same key can never start a second order and a second charge.
    """

    keeps_key = True


def charge_key(reference):
    return f"order-{reference}-charge"


def refund_key(reference):
    return f"order-{reference}-refund"


def check_out(caller: Caller, customer_id, payment_method, idempotency_link):
    """Turn the caller's cart into an order paid with ``payment_method``; the order as the API shows it.

    :raise 403: not the caller's customer profile. :raise 404: unknown customer or product.
    :raise 409: the cart is empty, short of stock, or being checked out already.
    :raise 400: nothing to pay (a total of 0.00). :raise 402, 400: :class:`PaymentRefused`.
    :raise 503, 504: a service down (nothing held), or :class:`PaymentUnsettled`.
    """
    owner = order_owner(customer_id)
    if owner != caller.user_id:
        raise ApiError(403, "You may only check out with your own customer profile.")
    row = {"reference": str(uuid.uuid4()), "user_id": owner, "payment_method": payment_method}
    transaction_date = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    row["id"], lines = _record_checkout(row, customer_id, transaction_date, idempotency_link)
    saga.crash_point("after_record")
    total, items, item_ids = saga.hold_stock(row["id"], row["reference"], lines)
    row["total_amount"] = total
    if total <= 0:
        _drop(row)
        raise ApiError(400, "There is nothing to pay: the cart's total is 0.00.", code="nothing_to_pay")
    _answer_outcome(settle_charge(row))
    order = new_order(row["id"], customer_id, total, transaction_date, items, item_ids)
    return dict(order, status="paid", payment={"status": "captured", "amount": total})


def _record_checkout(row, customer_id, transaction_date, idempotency_link):
    """Record the order for the user's cart: ``(order id, {product id: quantity})``.

    :raise 409: the cart is empty, or being checked out. :raise 404: the customer was deleted.
    """
    with cart_unlocked():
        order_id, lines = repository.insert_checkout(
            row["reference"], customer_id, row["user_id"], transaction_date, row["payment_method"], idempotency_link
        )
    if order_id is None:
        if not lines:
            raise ApiError(409, "The cart is empty.", code="cart_empty")
        raise ApiError(404, f"Customer {customer_id} was not found.")
    return order_id, {line["product_id"]: line["quantity"] for line in lines}


def _drop(order):
    """Give up a checkout order nothing was charged for: release its stock and delete it (or leave both to
    the sweeper when another mover has it, or the release fails)."""
    if repository.begin_drop(order["id"]) and saga.release_stock(order["reference"]):
        repository.delete_order(order["id"])


def _answer_outcome(settled):
    """:raise PaymentRefused, PaymentUnsettled: the charge was not captured."""
    outcome, status, answer = settled
    if outcome == lifecycle.DROPPED:
        raise PaymentRefused(status, answer)
    if outcome == lifecycle.UNSETTLED:
        raise PaymentUnsettled(
            504 if status == 504 else 503,
            "The payment could not be confirmed yet. The order stays pending and is settled shortly: "
            "paid (the cart emptied) if the charge went through, dropped otherwise. "
            "Retry with the same Idempotency-Key to see the outcome; nothing is charged twice.",
            code="payment_pending",
        )


def settle_charge(order):
    """Ask for the order's charge (again) and move the order by the answer: ``(outcome, status, answer)``."""
    status, answer = _charge(order)
    outcome = lifecycle.checkout_outcome(status)
    if outcome == lifecycle.PAID:
        repository.mark_paid(order["id"], order["user_id"], answer["id"])
    elif outcome == lifecycle.DROPPED and repository.begin_drop(order["id"]) and saga.release_stock(order["reference"]):
        repository.delete_order(order["id"])
    business_metrics.payment_settled(outcome)
    return outcome, status, answer


def _charge(order):
    """The payment service's status and JSON for the order's charge; ``(503 or 504, None)`` without an answer."""
    saga.crash_point("before_charge")
    try:
        response = service_client("payment").request(
            "POST",
            "/internal/payments",
            json={
                "orderId": order["id"],
                "amount": f"{order['total_amount']:.2f}",
                "paymentMethod": order["payment_method"],
            },
            headers={"Idempotency-Key": charge_key(order["reference"])},
            read_timeout=current_app.config["CHECKOUT_PAYMENT_TIMEOUT"],
        )
    except ApiError as error:
        log.warning("charge of order %s not settled: %s", order["id"], error.message)
        return error.status, None
    if response.status not in (201, 400, 402):
        log.warning("payment service answered %s to the charge of order %s", response.status, order["id"])
        return response.status, None
    return response.status, response.json()


def cancel_paid_order(order):
    """paid → cancelled: refund in full and give the stock back; True when this call cancelled it."""
    if not repository.begin_refund(order["id"]):
        return False
    saga.crash_point("after_cancel")
    _refund(order)
    if saga.release_stock(order["reference"]):
        repository.mark_released(order["id"])
    return True


def _refund(order):
    """Refund the order's payment in full (idempotent by key); False when the payment service could not, yet."""
    try:
        response = service_client("payment").request(
            "POST",
            f"/internal/payments/{order['payment_id']}/refund",
            headers={"Idempotency-Key": refund_key(order["reference"])},
            read_timeout=current_app.config["CHECKOUT_PAYMENT_TIMEOUT"],
        )
    except ApiError as error:
        log.warning("refund of order %s not done yet: %s", order["id"], error.message)
        return False
    if response.status != 200:
        log.error("payment service answered %s to the refund of order %s", response.status, order["id"])
        return False
    repository.mark_refunded(order["id"])
    business_metrics.refunded()
    return True


def sweep(older_than_seconds):
    """Settle checkouts left charging and cancels left refunding, then the stock saga's leftovers (saga.sweep)."""
    settled = 0
    for order in repository.unsettled_payments(older_than_seconds):
        if order["payment_state"] == "charging":
            settled += settle_charge(order)[0] != lifecycle.UNSETTLED
        else:
            settled += _refund(order)
    if settled:
        log.info("sweep settled %d payment(s)", settled)
    return settled + saga.sweep(older_than_seconds)
