"""Routes of the transaction service: ``/api/transactions``, ``/api/cart``, ``/api/checkout``.

| route | who |
|---|---|
| POST /api/transactions | the user owning ``customerId``, or admin |
| GET /<id>, GET /customer/<customerId> | owner, or admin |
| PUT /<id>/status | admin; the owner may only cancel their own pending order, or paid one (lifecycle.py) |
| GET /, DELETE /<id> | admin |
| GET /api/cart, PUT/DELETE /api/cart/items/<productId>, DELETE /api/cart | a logged-in user, their own cart |
| POST /api/checkout | a logged-in user, their own cart and customer profile |
| PUT /internal/deleted-customers/<customerId> | services: the customer service before it deletes a profile |

An order is still a "transaction" in the API (``/api/transactions``, ``transactionId``,
``transaction_date``, the ``transactions`` table), as the original's clients know it; in the code
it is an order. Orders are read from this service's database alone: items carry the product's
name and price as they were at order time.
"""

from functools import partial

from flask import Blueprint, jsonify, request

from shop_common.auth import ADMIN, SERVICE, auth_required, current_caller, require_owner_or_admin
from shop_common.errors import ApiError, found
from shop_common.validation import MAX_ID, Fields, json_body, list_response, order_lines, pagination

from . import business_metrics, cart, checkout, idempotency, repository, saga
from .lifecycle import STATUSES, MoveForbidden, MoveNotAllowed, plan_move
from .orders import order_created_body, orders_with_items
from .owners import forget_customer, owner_of_orders

orders = Blueprint("orders", __name__, url_prefix="/api/transactions")
internal = Blueprint("internal_transactions", __name__, url_prefix="/internal")
carts = Blueprint("cart", __name__, url_prefix="/api/cart")
checkouts = Blueprint("checkout", __name__, url_prefix="/api/checkout")
MAX_PAYMENT_METHOD_LENGTH = 64


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


@orders.post("")
@auth_required()
@business_metrics.counts_orders
def place_order():
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


@orders.get("")
@auth_required(ADMIN)
def list_orders():
    limit, offset = pagination()
    return list_response(orders_with_items(repository.list_orders(limit, offset)), repository.count_orders())


@orders.get("/customer/<id:customer_id>")
@auth_required()
def list_customer_orders(customer_id):
    """The customer's orders, newest first; ``[]`` when there are none.

    A deleted profile's orders stay listable, by an admin and by the user who placed
    them: the owner is then the one recorded on the orders.

    :raise 404: no such customer, and no orders of it. :raise 403: another user's customer.
    """
    require_owner_or_admin(owner_of_orders(customer_id))
    limit, offset = pagination()
    return list_response(
        orders_with_items(repository.list_orders(limit, offset, customer_id)), repository.count_orders(customer_id)
    )


@orders.get("/<id:transaction_id>")
@auth_required()
def get_order(transaction_id):
    return jsonify(orders_with_items([_visible_order(transaction_id)])[0])


@orders.put("/<id:transaction_id>/status")
@auth_required()
def update_status(transaction_id):
    """Move an order as lifecycle.py allows: without payment pending → completed (admin), pending →
    cancelled, completed → cancelled (admin); paid at checkout paid → shipped → completed (admin),
    paid → cancelled (owner or admin: refunded and restocked).

    :raise 400: not a known status. :raise 403: the owner asking for more than cancelling a pending order.
    :raise 409: the move is not allowed from the order's current status.
    """
    order = _visible_order(transaction_id)
    fields = Fields(json_body())
    target = fields.string("status", max_length=20)
    if target is not None and target not in STATUSES:
        fields.add("status", "must be one of " + ", ".join(STATUSES))
    fields.check()
    try:
        move, from_statuses = plan_move(
            order["payment_method"] is not None, target, order["status"], current_caller().is_admin
        )
    except MoveForbidden as refusal:
        raise ApiError(403, str(refusal)) from None
    except MoveNotAllowed as refusal:
        raise ApiError(409, str(refusal), code="invalid_transition") from None
    moved = _make_move(order, target, move, from_statuses)
    current = _visible_order(transaction_id)
    if not moved:
        raise ApiError(409, f"A {current['status']} transaction cannot become {target}.", code="invalid_transition")
    return jsonify(message=f"Transaction {target}", transaction=orders_with_items([current])[0])


def _make_move(order, target, move, from_statuses):
    """Make the move with what it must do (lifecycle.Move); True when this request made it."""
    if move.refunds:
        return checkout.cancel_paid_order(order)
    if move.releases_stock:
        return saga.cancel_order(order, from_statuses)
    return repository.move_status(order["id"], target, from_statuses)


@orders.delete("/<id:transaction_id>")
@auth_required(ADMIN)
def delete_order(transaction_id):
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


def _cart_owner():
    """The caller's user id: a cart belongs to a user. :raise 403: a service's token (no user)."""
    caller = current_caller()
    if caller.user_id is None:
        raise ApiError(403, "A cart belongs to a logged-in user.")
    return caller.user_id


@carts.get("")
@auth_required()
def get_cart():
    """The caller's cart at today's prices and stock (``{"items": [], "total": "0.00"}`` when empty)."""
    return jsonify(cart.cart_view(_cart_owner()))


@carts.put("/items/<id:product_id>")
@auth_required()
def set_cart_item(product_id):
    """Set a line: ``{"quantity": 0..10000}``, 0 removing it; answers the cart.

    :raise 400: a bad quantity. :raise 404: unknown product. :raise 409: a 101st line, or a checkout settling.
    """
    user_id = _cart_owner()
    fields = Fields(json_body())
    quantity = fields.integer("quantity", minimum=0, maximum=cart.MAX_QUANTITY)
    fields.check()
    cart.set_line(user_id, product_id, quantity)
    return jsonify(cart.cart_view(user_id))


@carts.delete("/items/<id:product_id>")
@auth_required()
def remove_cart_item(product_id):
    """Remove a line (nothing to remove is fine); answers the cart. :raise 409: a checkout settling."""
    user_id = _cart_owner()
    cart.set_line(user_id, product_id, 0)
    return jsonify(cart.cart_view(user_id))


@carts.delete("")
@auth_required()
def empty_cart():
    """Remove every line; answers the (empty) cart. :raise 409: a checkout settling."""
    user_id = _cart_owner()
    cart.empty(user_id)
    return jsonify(cart.cart_view(user_id))


@checkouts.post("")
@auth_required()
@business_metrics.counts_checkouts
def create_checkout():
    """Turn the caller's cart into an order and pay for it: ``{"customerId", "paymentMethod"}``.

    ``Idempotency-Key`` is required: a payment retried without one could charge twice.
    See checkout.py for every answer.
    """
    _cart_owner()
    key = request.headers.get("Idempotency-Key")
    if key is None:
        raise ApiError(400, "POST /api/checkout needs an Idempotency-Key header.", code="idempotency_key_required")
    body = json_body()
    fields = Fields(body)
    customer_id = fields.integer("customerId", minimum=1, maximum=MAX_ID)
    payment_method = fields.string("paymentMethod", max_length=MAX_PAYMENT_METHOD_LENGTH)
    fields.check()
    caller = current_caller()
    return idempotency.create_once(caller, key, body, partial(checkout.check_out, caller, customer_id, payment_method))
