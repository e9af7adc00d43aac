"""The sweeper settles what a crash or a lost call left half-way (see transaction_service/saga.py)."""

import uuid
from datetime import datetime
from decimal import Decimal

import pytest

from shop_common.db import get_db
from shop_common.http_client import service_client
from transaction_service import repository, saga


@pytest.fixture(autouse=True)
def app_context(app):
    with app.app_context():
        yield


def backdate(order_id, seconds=120):
    with get_db().cursor() as cursor:
        cursor.execute(
            "UPDATE transactions SET updated_at = updated_at - INTERVAL %s SECOND WHERE id = %s", (seconds, order_id)
        )


def set_state(order_id, status, stock_state):
    with get_db().cursor() as cursor:
        cursor.execute(
            "UPDATE transactions SET status = %s, stock_state = %s WHERE id = %s", (status, stock_state, order_id)
        )


def reserve(reference, product_id, quantity):
    return service_client("product").request(
        "POST",
        "/internal/reservations",
        json={"reference": reference, "items": [{"productId": product_id, "quantity": quantity}]},
    )


def record(reference, user_id, make_customer):
    """What a crash right after recording an order leaves: the order in ``reserving``."""
    return repository.insert_order(reference, make_customer(user_id), user_id, datetime(2030, 1, 2, 3, 4, 5))


def an_item(product_id, quantity=3):
    return {"product_id": product_id, "product_name": "Mug", "quantity": quantity, "price_per_item": Decimal("19.99")}


def crashed_after_reserve(make_customer, make_product, quantity=3):
    """What a crash between the reservation and the confirmation leaves: (order id, reference, product id)."""
    product_id = make_product(stock=10)
    reference = str(uuid.uuid4())
    order_id = record(reference, 700_001, make_customer)
    assert reserve(reference, product_id, quantity).status == 201
    return order_id, reference, product_id


def test_an_abandoned_creation_is_rolled_back(make_customer, make_product, stock_of):
    order_id, _, product_id = crashed_after_reserve(make_customer, make_product)
    assert stock_of(product_id) == 7
    backdate(order_id)
    assert saga.sweep(30) == 1
    assert stock_of(product_id) == 10
    with get_db().cursor() as cursor:
        cursor.execute("SELECT COUNT(*) AS n FROM transactions WHERE id = %s", (order_id,))
        assert cursor.fetchone()["n"] == 0


def test_a_creation_still_within_its_time_is_left_alone(make_customer, make_product, stock_of):
    order_id, _, product_id = crashed_after_reserve(make_customer, make_product)
    assert saga.sweep(30) == 0
    assert stock_of(product_id) == 7
    assert repository.confirm_order(order_id, 0, [an_item(product_id)])


def test_a_reservation_arriving_after_the_sweep_is_refused(make_customer, make_product, stock_of):
    product_id = make_product(stock=10)
    reference = str(uuid.uuid4())
    order_id = record(reference, 700_002, make_customer)
    backdate(order_id)
    saga.sweep(30)
    assert reserve(reference, product_id, 2).status == 409
    assert stock_of(product_id) == 10


def test_a_request_that_lost_the_race_to_the_sweeper_cannot_confirm(make_customer, make_product, stock_of):
    order_id, _, product_id = crashed_after_reserve(make_customer, make_product)
    backdate(order_id)
    saga.sweep(30)
    assert repository.confirm_order(order_id, 0, [an_item(product_id)]) is None
    assert stock_of(product_id) == 10


def test_items_written_for_an_order_the_sweeper_took_are_never_shown_and_go_with_it(
    make_customer, make_product, stock_of
):
    order_id, _, product_id = crashed_after_reserve(make_customer, make_product)
    assert repository.claim_for_rollback(order_id)  # the sweeper's first move; the request confirms now
    assert repository.confirm_order(order_id, 0, [an_item(product_id)]) is None
    assert repository.find_order(order_id) is None
    backdate(order_id)
    assert saga.sweep(30) == 1 and stock_of(product_id) == 10
    with get_db().cursor() as cursor:
        cursor.execute("SELECT COUNT(*) AS n FROM transaction_items WHERE transaction_id = %s", (order_id,))
        assert cursor.fetchone()["n"] == 0


def test_an_interrupted_cancellation_is_finished(make_customer, make_product, stock_of):
    order_id, _, product_id = crashed_after_reserve(make_customer, make_product)
    repository.confirm_order(order_id, 0, [an_item(product_id)])
    set_state(order_id, "cancelled", "releasing")
    backdate(order_id)
    assert saga.sweep(30) == 1
    assert stock_of(product_id) == 10
    assert repository.find_order(order_id)["stock_state"] == "released"
    assert saga.sweep(0) == 0 and stock_of(product_id) == 10


def test_an_idempotency_key_left_in_progress_is_settled_from_its_order(client, buyer, make_product):
    customer_id, headers = buyer()
    product_id = make_product(stock=10)
    body = {"customerId": customer_id, "items": [{"productId": product_id, "quantity": 1}]}
    first = client.post("/api/transactions", json=body, headers={**headers, "Idempotency-Key": "crash-1"})
    order_id = first.get_json()["id"]
    with get_db().cursor() as cursor:  # as if the process died before recording the answer
        cursor.execute(
            "UPDATE idempotency_keys SET state = 'in_progress', response_status = NULL, "
            "response_body = NULL, created_at = created_at - INTERVAL 2 MINUTE"
        )
    saga.sweep(30)
    replay = client.post("/api/transactions", json=body, headers={**headers, "Idempotency-Key": "crash-1"})
    assert replay.status_code == 201 and replay.get_json()["id"] == order_id


def test_an_idempotency_key_whose_order_never_happened_is_forgotten():
    repository.claim_idempotency_key("customer:0", "lost", "x" * 64)
    with get_db().cursor() as cursor:
        cursor.execute("UPDATE idempotency_keys SET created_at = created_at - INTERVAL 2 MINUTE")
    saga.sweep(30)
    with get_db().cursor() as cursor:
        cursor.execute("SELECT COUNT(*) AS n FROM idempotency_keys")
        assert cursor.fetchone()["n"] == 0


def test_the_reconcile_command(app, make_customer, make_product, stock_of):
    _order_id, _, product_id = crashed_after_reserve(make_customer, make_product)
    result = app.test_cli_runner().invoke(args=["reconcile", "--older-than", "0"])
    assert result.exit_code == 0 and "settled 1 order(s)" in result.output
    assert stock_of(product_id) == 10
