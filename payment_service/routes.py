"""Routes of the payment service.

| route | who |
|---|---|
| POST /internal/payments | services: pay for an order (``Idempotency-Key`` required) |
| GET /internal/payments?orderId= | services: the payments of an order |
| POST /internal/payments/<id>/refund | services: refund a captured payment in full (``Idempotency-Key`` required) |
| GET /api/payments?transactionId= | admin: the payments the shop recorded (all without a filter) |

The gateway forwards ``/api/payments`` (admin only there too), never ``/internal``.
"""

from flask import Blueprint, jsonify, request

from shop_common.auth import ADMIN, SERVICE, auth_required
from shop_common.errors import ApiError, ValidationError
from shop_common.validation import MAX_ID, Fields, json_body

from . import payments, repository
from .providers import payment_provider

internal = Blueprint("internal_payments", __name__, url_prefix="/internal/payments")
public = Blueprint("payments", __name__, url_prefix="/api/payments")


def payment_json(payment):
    return {
        "id": payment["id"],
        "orderId": payment["order_id"],
        "amount": payment["amount"],
        "currency": payment["currency"],
        "status": payment["status"],
        "paymentMethod": payment["payment_method"],
        "providerReference": payment["provider_reference"],
        "declineReason": payment["decline_reason"],
        "refundedAmount": payment["refunded_amount"],
        "createdAt": payment["created_at"],
        "updatedAt": payment["updated_at"],
    }


def idempotency_key():
    """:raise 400: no ``Idempotency-Key`` header, or one over 255 characters."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not 1 <= len(key) <= 255:
        raise ApiError(
            400, "An Idempotency-Key header of 1 to 255 characters is required.", code="idempotency_key_required"
        )
    return key


def parse_payment(body):
    """``(order_id, amount, payment_method)``. :raise 400: with every problem found."""
    fields = Fields(body)
    order_id = fields.integer("orderId", minimum=1, maximum=MAX_ID)
    amount = fields.money("amount")
    if amount is not None and amount <= 0:
        fields.add("amount", "must be more than 0")
    payment_method = fields.string("paymentMethod")
    fields.check()
    return order_id, amount, payment_method


def id_filter(name):
    """The positive integer of query parameter ``name``, or None when absent. :raise 400: not one."""
    value = request.args.get(name)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_ID:
        raise ValidationError({name: "must be a positive integer"})
    return int(value)


def refused_answer(refused):
    """402 a declined payment (with the reason), 400 a payment method the provider does not know."""
    payment = refused.payment
    if payment["status"] == "declined":
        body = {
            "error": "payment_declined",
            "message": "The payment was declined.",
            "reason": payment["decline_reason"],
        }
        return jsonify(body | {"payment": payment_json(payment)}), 402
    body = {"error": "unknown_payment_method", "message": "The payment provider does not know this payment method."}
    return jsonify(body | {"payment": payment_json(payment)}), 400


@internal.post("")
@auth_required(SERVICE)
def create_payment():
    """Pay for an order: 201 captured; asked again with the same key, the same answer, never a second charge.

    :raise 400: invalid body or key, or an unknown payment method. :raise 402: declined.
    :raise 422: the key was used for another payment. :raise 503, 504: the provider is down or slow (pending).
    """
    key = idempotency_key()
    order_id, amount, payment_method = parse_payment(json_body())
    try:
        payment = payments.pay(payment_provider(), key, order_id, amount, payment_method)
    except payments.PaymentRefused as refused:
        return refused_answer(refused)
    return jsonify(payment_json(payment)), 201


@internal.get("")
@auth_required(SERVICE)
def list_order_payments():
    """:raise 400: ``orderId`` is not a positive integer."""
    rows = repository.list_payments(id_filter("orderId"))
    return jsonify(payments=[payment_json(payment) for payment in rows])


@internal.post("/<id:payment_id>/refund")
@auth_required(SERVICE)
def refund_payment(payment_id):
    """Refund a captured payment in full: 200 refunded; a refunded one again, without a second refund.

    :raise 404: no such payment. :raise 409: never captured. :raise 503, 504: the provider is down or slow.
    """
    key = idempotency_key()
    return jsonify(payment_json(payments.refund(payment_provider(), payment_id, key)))


@public.get("")
@auth_required(ADMIN)
def list_payments():
    """The payments of the order ``transactionId`` (all without it), for an admin.

    :raise 400: ``transactionId`` is not a positive integer.
    """
    rows = repository.list_payments(id_filter("transactionId"))
    return jsonify(payments=[payment_json(payment) for payment in rows])
