"""Routes of the transaction service: ``/api/transactions``.

| route | who |
|---|---|
| POST /api/transactions | the user owning ``customerId``, or admin |
| GET /<id>, GET /customer/<customerId> | owner, or admin |
| PUT /<id>/status | admin; the owner may only cancel their own pending order |
| GET /, DELETE /<id> | admin |
| PUT /internal/deleted-customers/<customerId> | services: the customer service before it deletes a profile |

Orders are read from this service's database alone: items carry the product's
name and price as they were at order time.
"""

from functools import partial

from flask import Blueprint, jsonify, request

from shop_common.auth import ADMIN, SERVICE, auth_required, current_caller, require_owner_or_admin
from shop_common.errors import ApiError, found
from shop_common.validation import MAX_ID, Fields, json_body, list_response, order_lines, pagination

from . import business_metrics, idempotency, repository, saga
from .orders import STATUSES, allowed_from, order_created_body, orders_with_items
from .owners import forget_customer, orders_owner

transactions = Blueprint("transactions", __name__, url_prefix="/api/transactions")
internal = Blueprint("internal_transactions", __name__, url_prefix="/internal")


def parse_order(body):
    """``(customer_id, {product_id: quantity})`` with repeated products merged.

    :raise 400: with every problem found.
    """
    fields = Fields(body)
    customer_id = fields.integer("customerId", minimum=1, maximum=MAX_ID)
    lines = order_lines(fields, body.get("items"))
    fields.check()
    return customer_id, lines


def _visible_order(order_id):
    """:raise 404: no such order. :raise 403: not the caller's, and the caller is no admin."""
    order = found(repository.find_order(order_id), f"Transaction {order_id} was not found.")
    require_owner_or_admin(order["user_id"])
    return order


@transactions.post("")
@auth_required()
@business_metrics.counts_orders
def create_transaction():
    """Place an order; with ``Idempotency-Key``, a retry answers the first result again.

    :raise 400: invalid body or key. :raise 403: not the caller's customer.
    :raise 404: unknown customer or product. :raise 409: not enough stock, or the
        same key is still being processed. :raise 422: the key was used with another body.
    :raise 503, 504: a service is down or slow; nothing is held.
    """
    body = json_body()
    customer_id, lines = parse_order(body)
    caller = current_caller()
    place_order = partial(saga.place_order, caller, customer_id, lines)
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        return idempotency.create_once(caller, key, body, place_order)
    return jsonify(order_created_body(place_order())), 201


@transactions.get("")
@auth_required(ADMIN)
def list_transactions():
    limit, offset = pagination()
    return list_response(orders_with_items(repository.list_orders(limit, offset)), repository.count_orders())


@transactions.get("/customer/<id:customer_id>")
@auth_required()
def list_customer_transactions(customer_id):
    """The customer's orders, newest first; ``[]`` when there are none.

    A deleted profile's orders stay listable, by an admin and by the user who placed
    them: the owner is then the one recorded on the orders.

    :raise 404: no such customer, and no orders of it. :raise 403: another user's customer.
    """
    require_owner_or_admin(orders_owner(customer_id))
    limit, offset = pagination()
    return list_response(
        orders_with_items(repository.list_orders(limit, offset, customer_id)), repository.count_orders(customer_id)
    )


@transactions.get("/<id:transaction_id>")
@auth_required()
def get_transaction(transaction_id):
    return jsonify(orders_with_items([_visible_order(transaction_id)])[0])


@transactions.put("/<id:transaction_id>/status")
@auth_required()
def update_status(transaction_id):
    """Move an order: pending → completed (admin), pending → cancelled, completed → cancelled (admin).

    :raise 400: not a known status. :raise 403: the owner asking for more than cancelling a pending order.
    :raise 409: the move is not allowed from the order's current status.
    """
    order = _visible_order(transaction_id)
    fields = Fields(json_body())
    target = fields.string("status", max_length=20)
    if target is not None and target not in STATUSES:
        fields.add("status", "must be one of " + ", ".join(STATUSES))
    fields.check()
    from_statuses = allowed_from(current_caller(), target, order["status"])
    if target == "completed":
        moved = repository.complete_order(transaction_id)
    else:
        moved = bool(from_statuses) and saga.cancel_order(order, from_statuses)
    current = _visible_order(transaction_id)
    if not moved:
        raise ApiError(409, f"A {current['status']} transaction cannot become {target}.", code="invalid_transition")
    return jsonify(message=f"Transaction {target}", transaction=orders_with_items([current])[0])


@transactions.delete("/<id:transaction_id>")
@auth_required(ADMIN)
def delete_transaction(transaction_id):
    """Delete an order, giving its stock back first if it still holds any.

    :raise 503: the stock could not be given back yet; the order stays, cancelled.
    """
    if not saga.delete_order(_visible_order(transaction_id)):
        raise ApiError(
            503,
            "The stock of this transaction could not be released yet; it is cancelled "
            "and will be released shortly. Try the deletion again later.",
        )
    return jsonify(message="Transaction deleted successfully", transactionId=transaction_id)


@internal.put("/deleted-customers/<id:customer_id>")
@auth_required(SERVICE)
def record_deleted_customer(customer_id):
    """No order is taken for ``customer_id`` from now on (see owners.py). Idempotent."""
    forget_customer(customer_id)
    return jsonify(customer_id=customer_id, deleted=True)
