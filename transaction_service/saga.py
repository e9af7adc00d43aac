"""The order saga: an order and the stock held for it never disagree for long.

An order row moves through these states (``status`` / ``stock_state``):

    pending/reserving    recorded; the product service is being asked to hold stock
                         (not visible to reads: it is not an order yet)
    pending/held         stock held and items recorded: the order exists (201)
    pending/releasing    creation failed; the hold is being given back, then the
                         row is deleted (not visible)
    completed/held       completed; stock stays taken
    cancelled/releasing  cancelled; the hold is being given back
    cancelled/released   final

A checkout order (checkout.py) is recorded with ``payment_state`` charging and
goes through the same stock states; while its payment settles it is
pending/held, then paid/held, or pending/releasing on its way out when nothing
was charged. Its status moves are lifecycle.py's.

Every move is one conditional UPDATE (``WHERE stock_state = <expected>``), so
when a request and the sweeper race for the same order exactly one of them
moves it. The product service's reserve and release are idempotent per order
``reference``, and a release that arrives before its reserve leaves a tombstone
that refuses the late reserve; retrying either, from anywhere, is always safe.

Crash recovery: :func:`sweep` takes orders left in ``reserving`` or
``releasing`` for longer than ``SAGA_STALE_SECONDS`` (longer than any request
can still be working on them) and finishes them: an unconfirmed creation is
rolled back (release, delete), a cancellation is released. It runs in every
worker at start and then every ``SAGA_SWEEP_SECONDS``, and from
``make reconcile``, which also settles the Idempotency-Keys a crash left in
progress (see idempotency.py).
"""

import logging
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from flask import current_app

from shop_common.errors import ApiError
from shop_common.http_client import service_client
from shop_common.validation import MAX_MONEY

from . import business_metrics, idempotency, repository
from .orders import new_order
from .owners import order_owner

log = logging.getLogger(__name__)

# When each reference's failed release was last logged, so a step the sweeper retries
# every few seconds logs once per SAGA_FAILURE_LOG_SECONDS, not once per round.
_failures_logged: dict[str, float] = {}
_failures_lock = threading.Lock()


def crash_point(step):
    """Fault injection for tests: exit the process here when FAULT_CRASH_AT names this step."""
    if current_app.config.get("FAULT_CRASH_AT") == step:
        log.critical("fault injection: exiting at %s", step)
        os._exit(70)


def place_order(caller, customer_id, lines, idempotency=None):
    """Create an order for ``lines`` ({product id: quantity}) and hold its stock; return it as the API shows it.

    :raise 403: the customer is not the caller's. :raise 404: unknown customer or product.
    :raise 409: not enough stock. :raise 400: the total is over the maximum.
    :raise 503, 504: a service is down or slow (nothing is left held).
    """
    owner = order_owner(customer_id)
    if not caller.may_act_for(owner):
        raise ApiError(403, "You may only order for your own customer profile.")
    reference = str(uuid.uuid4())
    # The column's precision (seconds), so the 201 shows what later reads show.
    transaction_date = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    order_id = repository.insert_order(reference, customer_id, owner, transaction_date, idempotency)
    if order_id is None:
        raise ApiError(404, f"Customer {customer_id} was not found.")
    crash_point("after_record")
    total, items, item_ids = hold_stock(order_id, reference, lines)
    return new_order(order_id, customer_id, total, transaction_date, items, item_ids)


def hold_stock(order_id, reference, lines):
    """Reserve ``lines`` for the recorded order and confirm it (reserving → held): ``(total, items, item ids)``.

    A refusal or failure rolls the creation back (nothing stays held) and is raised.

    :raise 404, 409: a product unknown or short of stock. :raise 400: the total is over the maximum.
    :raise 503, 504: a service is down or slow.
    """
    try:
        items = _reserve_stock(reference, lines)
        crash_point("after_reserve")
        total = _order_total(items)
    except ApiError as error:
        business_metrics.step_failed_unless_refused("reserve", error)
        roll_back_creation(order_id, reference)
        raise
    item_ids = repository.confirm_order(order_id, total, items)
    if item_ids is None:
        raise ApiError(503, "The order took too long and was rolled back; please try again.")
    crash_point("after_confirm")
    return total, items, item_ids


def _order_total(items):
    """:raise 400: the total is over what an order may cost."""
    total = sum((item["price_per_item"] * item["quantity"] for item in items), Decimal("0.00"))
    if total > MAX_MONEY:
        raise ApiError(400, f"The order total {total} is over the maximum of {MAX_MONEY}.", code="total_too_large")
    return total


def _reserve_stock(reference, lines):
    """Hold all lines in one call: all or nothing. Returns the items with name and price snapshots."""
    response = service_client("product").request(
        "POST",
        "/internal/reservations",
        json={
            "reference": reference,
            "items": [{"productId": product_id, "quantity": quantity} for product_id, quantity in lines.items()],
        },
    )
    if response.status in (404, 409):
        error = response.json()
        raise ApiError(response.status, error["message"], code=error["error"])
    if response.status not in (200, 201):
        log.error("product service answered %s to a reservation", response.status)
        raise ApiError(503, "The product service could not reserve the stock.")
    return [
        {
            "product_id": item["productId"],
            "product_name": item["productName"],
            "quantity": item["quantity"],
            "price_per_item": Decimal(item["unitPrice"]),
        }
        for item in response.json()["items"]
    ]


def release_stock(reference):
    """Give back what ``reference`` holds (a no-op when it holds nothing); False when that failed."""
    try:
        service_client("product").request_ok("POST", f"/internal/reservations/{reference}/release")
    except ApiError as error:
        business_metrics.step_failed("release")
        _log_failure(reference, "release of %s failed: %s", reference, error.message)
        return False
    with _failures_lock:
        _failures_logged.pop(reference, None)
    return True


def _log_failure(reference, message, *args):
    """Log a failed saga step as an error, at most once per ``SAGA_FAILURE_LOG_SECONDS`` per order."""
    now = time.monotonic()
    with _failures_lock:
        last = _failures_logged.get(reference)
        if last is not None and now - last < current_app.config["SAGA_FAILURE_LOG_SECONDS"]:
            return
        _failures_logged[reference] = now
    log.error(message + " (retried by the sweeper; logged again after SAGA_FAILURE_LOG_SECONDS)", *args)


def health_details():
    """For the service's ``/health``: orders, and checkouts' charges or refunds, the sweeper has not settled yet
    (``make reconcile`` tries too)."""
    stale = current_app.config["SAGA_STALE_SECONDS"]
    return {
        "saga": {
            "unsettledOrders": repository.count_unsettled_orders(stale),
            "unsettledPayments": repository.count_unsettled_payments(stale),
        }
    }


def roll_back_creation(order_id, reference):
    """Undo a creation that failed: release the hold and delete the row, unless the sweeper has it."""
    if repository.claim_for_rollback(order_id) and release_stock(reference):
        repository.delete_order(order_id)


def cancel_order(order, from_statuses):
    """Cancel ``order`` if its status is in ``from_statuses``; True when this call cancelled it.

    The stock goes back exactly once: only the caller whose UPDATE wins releases it,
    and the release itself is idempotent. If the product service is down, the
    order stays cancelled/releasing and the sweeper gives the stock back later.
    """
    if not repository.begin_cancel(order["id"], from_statuses):
        return False
    if release_stock(order["reference"]):
        repository.mark_released(order["id"])
    return True


def delete_order(order):
    """Cancel ``order`` if it still holds stock, make sure the stock is back, delete it.

    :return: False when the product service could not take the stock back yet
        (the order then stays, cancelled, for the sweeper to release).
    :raise 409: a checkout order not cancelled and refunded yet (its money is not settled).
    """
    if order["payment_method"] is not None and order["payment_state"] != "refunded":
        raise ApiError(
            409, "A paid transaction can be deleted only once cancelled and refunded.", code="invalid_transition"
        )
    repository.begin_cancel(order["id"], ("pending", "completed"))
    current = repository.find_order(order["id"])
    if current is None:
        return True
    if current["stock_state"] == "releasing":
        if not release_stock(current["reference"]):
            return False
        repository.mark_released(current["id"])
    repository.delete_order(current["id"])
    return True


def sweep(older_than_seconds):
    """Finish every saga a crash or a lost call left half-way; returns how many orders were settled."""
    settled = 0
    for order in repository.unsettled_orders(older_than_seconds):
        if order["stock_state"] == "reserving" and not repository.claim_for_rollback(order["id"]):
            continue
        business_metrics.step_retried("release")
        if not release_stock(order["reference"]):
            continue
        if order["status"] == "pending":
            repository.delete_order(order["id"])
        else:
            repository.mark_released(order["id"])
        settled += 1
    idempotency.settle_unfinished(older_than_seconds)
    if settled:
        business_metrics.orders_settled(settled)
        log.info("sweep settled %d order(s)", settled)
    return settled
