"""An order as the API shows it (status moves: lifecycle.py)."""

from . import repository

# payment_state -> the payment's status as a checkout order shows it; orders without payment show none.
PAYMENT_STATUSES = {"captured": "captured", "refunding": "captured", "refunded": "refunded"}


def orders_with_items(orders):
    """The public shape of ``orders``, each with its items (one query for all)."""
    items = repository.find_items([order["id"] for order in orders])
    return [
        with_payment(order, dict({field: order[field] for field in repository.ORDER_FIELDS}, items=items[order["id"]]))
        for order in orders
    ]


def with_payment(row, order):
    """``order`` with ``"payment": {"status", "amount"}`` when ``row`` (its table row) was paid at checkout."""
    status = PAYMENT_STATUSES.get(row.get("payment_state", "none"))
    if status is not None:
        order["payment"] = {"status": status, "amount": row["total_amount"]}
    return order


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
