"""Routes of the transaction service: ``/api/transactions``.

| route | who |
|---|---|
| POST /api/transactions | the user owning ``customerId``, or admin |
| GET /<id>, GET /customer/<customerId> | owner, or admin |
| PUT /<id>/status | admin; the owner may only cancel their own pending order |
| GET /, DELETE /<id> | admin |

Orders are read from this service's database alone: items carry the product's
name and price as they were at order time.
"""
import hashlib
import json

from flask import Blueprint, Response, current_app, jsonify, request

from shop_common.auth import ADMIN, auth_required, current_caller, require_owner_or_admin
from shop_common.errors import ApiError
from shop_common.validation import MAX_ID, Fields, json_body, list_response, order_lines, pagination

from . import business_metrics, repository, saga

transactions = Blueprint("transactions", __name__, url_prefix="/api/transactions")

STATUSES = ("pending", "completed", "cancelled")
# Which statuses each target can be reached from.
TRANSITIONS = {"completed": ("pending",), "cancelled": ("pending", "completed")}


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
    order = repository.find_order(order_id)
    if order is None:
        raise ApiError(404, f"Transaction {order_id} was not found.")
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
    key = request.headers.get("Idempotency-Key")
    if key is None:
        order_id = saga.place_order(caller, customer_id, lines)
        return jsonify(saga.order_created_body(repository.find_order(order_id))), 201
    if not 1 <= len(key) <= 255:
        raise ApiError(400, "Idempotency-Key must be 1 to 255 characters.", code="invalid_idempotency_key")
    scope = f"{caller.role}:{caller.user_id or ''}"
    body_hash = request_hash(body)
    earlier = repository.claim_idempotency_key(scope, key, body_hash)
    if earlier is not None:
        return _replay(earlier, body_hash)
    return _create_once(caller, customer_id, lines, scope, key)


def request_hash(body):
    """The same for the same JSON whatever its key order or spacing."""
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _create_once(caller, customer_id, lines, scope, key):
    """Run the order under a claimed key and record its answer; a 5xx frees the key for a retry."""
    try:
        order_id = saga.place_order(caller, customer_id, lines, idempotency=(scope, key))
    except ApiError as error:
        if error.status >= 500:
            repository.forget_idempotency_key(scope, key)
        else:
            body = {"error": error.code, "message": error.message}
            repository.finish_idempotency_key(scope, key, error.status, current_app.json.dumps(body))
        raise
    except BaseException:
        repository.forget_idempotency_key(scope, key)
        raise
    body = current_app.json.dumps(saga.order_created_body(repository.find_order(order_id)))
    repository.finish_idempotency_key(scope, key, 201, body)
    return Response(body, status=201, mimetype="application/json")


def _replay(earlier, request_hash):
    if earlier["request_hash"] != request_hash:
        raise ApiError(422, "This Idempotency-Key was used with a different request body.",
                       code="idempotency_key_reused")
    if earlier["state"] != "done":
        raise ApiError(409, "A request with this Idempotency-Key is still being processed.",
                       code="idempotency_key_in_progress")
    response = Response(earlier["response_body"], status=earlier["response_status"], mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


@transactions.get("")
@auth_required(ADMIN)
def list_transactions():
    limit, offset = pagination()
    return list_response(saga.orders_with_items(repository.list_orders(limit, offset)),
                         repository.count_orders())


@transactions.get("/customer/<id:customer_id>")
@auth_required()
def list_customer_transactions(customer_id):
    """The customer's orders, newest first; ``[]`` when there are none.

    :raise 404: no such customer. :raise 403: another user's customer.
    """
    require_owner_or_admin(saga.customer_owner(customer_id))
    limit, offset = pagination()
    return list_response(saga.orders_with_items(repository.list_orders(limit, offset, customer_id)),
                         repository.count_orders(customer_id))


@transactions.get("/<id:transaction_id>")
@auth_required()
def get_transaction(transaction_id):
    return jsonify(saga.orders_with_items([_visible_order(transaction_id)])[0])


@transactions.put("/<id:transaction_id>/status")
@auth_required()
def update_status(transaction_id):
    """Move an order: pending → completed (admin), pending → cancelled, completed → cancelled (admin).

    :raise 400: not a known status. :raise 403: the owner asking for more than cancelling a pending order.
    :raise 409: the move is not allowed from the order's current status.
    """
    caller = current_caller()
    order = _visible_order(transaction_id)
    fields = Fields(json_body())
    target = fields.string("status", max_length=20)
    if target is not None and target not in STATUSES:
        fields.add("status", "must be one of " + ", ".join(STATUSES))
    fields.check()
    if not caller.is_admin and (target != "cancelled" or order["status"] == "completed"):
        raise ApiError(403, "You may only cancel your own pending order.")
    # An owner's cancel may not overtake an admin completing the order meanwhile.
    allowed_from = TRANSITIONS.get(target, ()) if caller.is_admin else ("pending",)
    if target == "completed":
        moved = repository.complete_order(transaction_id)
    else:
        moved = bool(allowed_from) and saga.cancel_order(order, allowed_from)
    current = _visible_order(transaction_id)
    if not moved:
        raise ApiError(409, f"A {current['status']} transaction cannot become {target}.",
                       code="invalid_transition")
    return jsonify(message=f"Transaction {target}", transaction=saga.orders_with_items([current])[0])


@transactions.delete("/<id:transaction_id>")
@auth_required(ADMIN)
def delete_transaction(transaction_id):
    """Delete an order, giving its stock back first if it still holds any.

    :raise 503: the stock could not be given back yet; the order stays, cancelled.
    """
    if not saga.delete_order(_visible_order(transaction_id)):
        raise ApiError(503, "The stock of this transaction could not be released yet; it is cancelled "
                            "and will be released shortly. Try the deletion again later.")
    return jsonify(message="Transaction deleted successfully", transactionId=transaction_id)
