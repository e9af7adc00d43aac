"""An order as the API shows it, and the status moves a caller may ask for."""

from shop_common.auth import Caller
from shop_common.errors import ApiError

from . import repository

STATUSES = ("pending", "completed", "cancelled")
# Which statuses each target status can be reached from, for an admin.
TRANSITIONS = {"completed": ("pending",), "cancelled": ("pending", "completed")}


def orders_with_items(orders):
    """The public shape of ``orders``, each with its items (one query for all)."""
    items = repository.find_items([order["id"] for order in orders])
    return [
        dict({field: order[field] for field in repository.ORDER_FIELDS}, items=items[order["id"]]) for order in orders
    ]


def new_order(order_id, customer_id, total_amount, transaction_date, items, item_ids):
    """A just-created order as the API shows it, from what was written (reading it back would cost two queries)."""
    return {
        "id": order_id,
        "customer_id": customer_id,
        "total_amount": total_amount,
        "status": "pending",
        "transaction_date": transaction_date,
        "items": [dict(item_id=item_id, **item) for item_id, item in zip(item_ids, items, strict=True)],
    }


def order_created_body(order):
    """The 201 body of a new ``order`` (public shape, with items; also replayed for its Idempotency-Key)."""
    return dict(message="Transaction created successfully", transactionId=order["id"], **order)


def allowed_from(caller: Caller, target, current_status):
    """The statuses ``caller`` may move an order to ``target`` from; empty when none.

    An owner may only cancel a pending order, and only from pending, so their
    cancel never overtakes an admin completing the order meanwhile.

    :raise 403: the caller may not ask for this move at all.
    """
    if caller.is_admin:
        return TRANSITIONS.get(target, ())
    if target != "cancelled" or current_status == "completed":
        raise ApiError(403, "You may only cancel your own pending order.")
    return ("pending",)
