"""Checkout over the real processes: the gateway, the transaction, product and payment services and the sandbox.

Every answer of ``POST /api/checkout``, the paid order's lifecycle with refunds, and the provider
failing, slow or late (made so while it runs, through the sandbox's behaviour helper): in the end
no charge without a paid order, no paid order without its one charge.
"""

import time
import uuid
from contextlib import contextmanager

import pytest

from tests.e2e.test_cart import assert_error, put_line
from tests.e2e.test_payments import Sandbox
from tests.stacks import Shop, run_concurrently


class Checkout(Shop):
    """The shop, plus checkout and what the sandbox's ledger says of an order."""

    def __init__(self, stack, admin_headers):
        super().__init__(stack, admin_headers)
        self.sandbox = Sandbox(stack.urls["sandbox"])

    def fill_cart(self, headers, lines):
        for product_id, quantity in lines:
            assert put_line(self, headers, product_id, quantity).status_code == 200

    def check_out(self, customer_id, headers, method="pm_card_visa", key=None):
        return self.call(
            "POST",
            "/api/checkout",
            headers={**headers, "Idempotency-Key": key or str(uuid.uuid4())},
            json={"customerId": customer_id, "paymentMethod": method},
        )

    def cart(self, headers):
        return self.call("GET", "/api/cart", headers=headers).json()

    def order(self, order_id):
        response = self.call("GET", f"/api/transactions/{order_id}", headers=self.admin)
        return response.json() if response.status_code == 200 else None

    def set_status(self, order_id, status, headers=None):
        return self.call(
            "PUT", f"/api/transactions/{order_id}/status", headers=headers or self.admin, json={"status": status}
        )

    def charges_of(self, order_id, ledger=None):
        """The sandbox's charges made for ``order_id`` (its metadata), whatever their status."""
        return [charge for charge in ledger or self.sandbox.ledger() if charge["metadata"]["order_id"] == str(order_id)]

    def wait_for(self, condition, seconds=30, what="the sweeper"):
        deadline = time.monotonic() + seconds
        while not (result := condition()):
            assert time.monotonic() < deadline, f"{what} never settled it"
            time.sleep(0.5)
        return result


@pytest.fixture
def shop(stack, admin_headers):
    checkout = Checkout(stack, admin_headers)
    yield checkout
    checkout.sandbox.behave(delay_seconds=0, failure_rate=0, late_rate=0, late_seconds=30)


@pytest.fixture
def buyer(shop):
    return shop.new_customer()


def test_a_checkout_pays_empties_the_cart_and_holds_the_stock(shop, buyer):
    customer_id, headers = buyer
    mug, pen = shop.create_product(stock=10, price="9.50"), shop.create_product(stock=5, price="1.25")
    shop.fill_cart(headers, [(mug, 2), (pen, 4)])
    response = shop.check_out(customer_id, headers)
    assert response.status_code == 201, response.text
    order = response.json()
    assert (order["status"], order["total_amount"], order["customer_id"]) == ("paid", "24.00", customer_id)
    assert order["payment"] == {"status": "captured", "amount": "24.00"}
    assert order["transactionId"] == order["id"]
    assert sorted((item["product_id"], item["quantity"]) for item in order["items"]) == [(mug, 2), (pen, 4)]
    assert shop.cart(headers) == {"items": [], "total": "0.00"}
    assert (shop.stock(mug), shop.stock(pen)) == (8, 1)
    read = shop.call("GET", f"/api/transactions/{order['id']}", headers=headers).json()
    assert (read["status"], read["payment"]) == ("paid", {"status": "captured", "amount": "24.00"})
    (charge,) = shop.charges_of(order["id"])
    assert (charge["status"], charge["amount_captured"], charge["amount_refunded"]) == ("succeeded", "24.00", "0.00")


@pytest.mark.parametrize(
    "method, reason",
    [("pm_card_chargeDeclined", "generic_decline"), ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds")],
)
def test_a_declined_card_is_402_with_the_reason_and_keeps_the_cart_and_the_stock(shop, buyer, method, reason):
    customer_id, headers = buyer
    mug = shop.create_product(stock=10)
    shop.fill_cart(headers, [(mug, 3)])
    response = shop.check_out(customer_id, headers, method)
    assert response.status_code == 402, response.text
    assert (response.json()["error"], response.json()["reason"]) == ("payment_declined", reason)
    assert [item["quantity"] for item in shop.cart(headers)["items"]] == [3]
    assert shop.stock(mug) == 10
    assert shop.call("GET", f"/api/transactions/customer/{customer_id}", headers=headers).json() == []


def test_a_payment_method_the_provider_does_not_know_is_400_and_changes_nothing(shop, buyer):
    customer_id, headers = buyer
    mug = shop.create_product(stock=10)
    shop.fill_cart(headers, [(mug, 1)])
    assert_error(shop.check_out(customer_id, headers, "pm_card_nonsense"), 400, "unknown_payment_method")
    assert len(shop.cart(headers)["items"]) == 1 and shop.stock(mug) == 10


def test_a_cart_that_costs_nothing_is_400_and_holds_nothing(shop, buyer):
    customer_id, headers = buyer
    gift = shop.create_product(stock=5, price="0.00")
    shop.fill_cart(headers, [(gift, 2)])
    assert_error(shop.check_out(customer_id, headers), 400, "nothing_to_pay")
    assert shop.stock(gift) == 5 and len(shop.cart(headers)["items"]) == 1
    assert shop.call("GET", f"/api/transactions/customer/{customer_id}", headers=headers).json() == []


def test_an_empty_cart_is_409(shop, buyer):
    assert_error(shop.check_out(*buyer), 409, "cart_empty")


def test_short_stock_is_409_naming_the_product_and_charges_nothing(shop, buyer):
    customer_id, headers = buyer
    mug = shop.create_product(stock=2)
    shop.fill_cart(headers, [(mug, 3)])
    body = assert_error(shop.check_out(customer_id, headers), 409)
    assert str(mug) in body["message"] or "item" in body["message"]
    assert shop.stock(mug) == 2 and len(shop.cart(headers)["items"]) == 1


def test_another_users_customer_profile_is_403(shop, buyer):
    _, headers = buyer
    other_customer, _ = shop.new_customer()
    mug = shop.create_product(stock=5)
    shop.fill_cart(headers, [(mug, 1)])
    assert_error(shop.check_out(other_customer, headers), 403)
    assert shop.stock(mug) == 5 and len(shop.cart(headers)["items"]) == 1


def test_a_checkout_without_an_idempotency_key_is_400(shop, buyer):
    customer_id, headers = buyer
    response = shop.call(
        "POST", "/api/checkout", headers=headers, json={"customerId": customer_id, "paymentMethod": "pm_card_visa"}
    )
    assert_error(response, 400, "idempotency_key_required")


@pytest.mark.parametrize("body", [{}, {"customerId": "1", "paymentMethod": "pm_card_visa"}, {"customerId": 1}])
def test_a_bad_body_is_400(shop, buyer, body):
    response = shop.call("POST", "/api/checkout", headers={**buyer[1], "Idempotency-Key": "k"}, json=body)
    assert_error(response, 400)


def test_the_same_key_answers_the_first_answer_again_and_another_body_is_422(shop, buyer):
    customer_id, headers = buyer
    mug = shop.create_product(stock=10)
    shop.fill_cart(headers, [(mug, 1)])
    key = str(uuid.uuid4())
    first = shop.check_out(customer_id, headers, key=key)
    assert first.status_code == 201
    again = shop.check_out(customer_id, headers, key=key)
    assert (again.status_code, again.json()["id"]) == (201, first.json()["id"])
    assert again.headers["Idempotent-Replayed"] == "true"
    assert_error(shop.check_out(customer_id, headers, "pm_card_chargeDeclined", key=key), 422)
    assert shop.stock(mug) == 9 and len(shop.charges_of(first.json()["id"])) == 1


def test_a_declined_checkout_is_answered_again_for_its_key(shop, buyer):
    customer_id, headers = buyer
    shop.fill_cart(headers, [(shop.create_product(stock=10), 1)])
    key = str(uuid.uuid4())
    first = shop.check_out(customer_id, headers, "pm_card_chargeDeclined", key=key)
    again = shop.check_out(customer_id, headers, "pm_card_chargeDeclined", key=key)
    assert (first.status_code, again.status_code) == (402, 402)
    assert again.json()["reason"] == "generic_decline" and again.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    "behaviour, status",
    [({"failure_rate": 1.0}, 503), ({"late_rate": 1.0, "late_seconds": 4}, 504)],
    ids=["failing", "late"],
)
def test_a_failing_or_late_provider_leaves_the_order_pending_and_the_sweeper_settles_it(shop, buyer, behaviour, status):
    """Failing: nothing charged yet, the sweeper's retry charges. Late: charged, the sweeper finds it. Both: paid."""
    customer_id, headers = buyer
    mug = shop.create_product(stock=10, price="5.00")
    shop.fill_cart(headers, [(mug, 2)])
    shop.sandbox.behave(**behaviour)
    key = str(uuid.uuid4())
    response = shop.check_out(customer_id, headers, key=key)
    assert_error(response, status, "payment_pending")
    assert_error(shop.check_out(customer_id, headers, key=str(uuid.uuid4())), 409, "checkout_in_progress")
    assert_error(put_line(shop, headers, mug, 5), 409, "checkout_in_progress")
    assert shop.stock(mug) == 8
    shop.sandbox.behave(failure_rate=0, late_rate=0)
    (order,) = shop.wait_for(
        lambda: [
            o
            for o in shop.call("GET", f"/api/transactions/customer/{customer_id}", headers=headers).json()
            if o["status"] == "paid"
        ]
    )
    assert order["payment"] == {"status": "captured", "amount": "10.00"}
    assert shop.cart(headers)["items"] == []
    (charge,) = shop.charges_of(order["id"])
    assert (charge["status"], charge["amount_captured"]) == ("succeeded", "10.00")
    replay = shop.wait_for(lambda: (r := shop.check_out(customer_id, headers, key=key)).status_code == 201 and r)
    assert replay.json()["id"] == order["id"]


def test_a_declined_card_behind_a_failing_provider_is_dropped_by_the_sweeper(shop, buyer):
    customer_id, headers = buyer
    mug = shop.create_product(stock=10)
    shop.fill_cart(headers, [(mug, 2)])
    shop.sandbox.behave(failure_rate=1.0)
    assert_error(shop.check_out(customer_id, headers, "pm_card_chargeDeclined"), 503, "payment_pending")
    shop.sandbox.behave(failure_rate=0)
    shop.wait_for(lambda: shop.stock(mug) == 10)
    shop.wait_for(lambda: put_line(shop, headers, mug, 1).status_code == 200, what="the cart's lock")
    assert shop.call("GET", f"/api/transactions/customer/{customer_id}", headers=headers).json() == []


def test_a_paid_order_ships_and_completes_by_an_admin_and_a_shipped_one_cannot_be_cancelled(shop, buyer):
    customer_id, headers = buyer
    shop.fill_cart(headers, [(shop.create_product(stock=10), 1)])
    order_id = shop.check_out(customer_id, headers).json()["id"]
    assert_error(shop.set_status(order_id, "shipped", headers), 403)
    assert_error(shop.set_status(order_id, "completed"), 409, "invalid_transition")
    assert shop.set_status(order_id, "shipped").json()["transaction"]["status"] == "shipped"
    assert_error(shop.set_status(order_id, "cancelled", headers), 409, "invalid_transition")
    assert_error(shop.set_status(order_id, "cancelled"), 409, "invalid_transition")
    assert shop.set_status(order_id, "completed").json()["transaction"]["status"] == "completed"
    assert_error(shop.set_status(order_id, "cancelled"), 409, "invalid_transition")
    assert shop.charges_of(order_id)[0]["amount_refunded"] == "0.00"


def test_an_owner_cancels_a_paid_order_refunded_in_full_and_restocked(shop, buyer):
    customer_id, headers = buyer
    mug = shop.create_product(stock=10, price="3.00")
    shop.fill_cart(headers, [(mug, 3)])
    order_id = shop.check_out(customer_id, headers).json()["id"]
    response = shop.set_status(order_id, "cancelled", headers)
    assert response.status_code == 200, response.text
    transaction = response.json()["transaction"]
    assert (transaction["status"], transaction["payment"]) == ("cancelled", {"status": "refunded", "amount": "9.00"})
    assert shop.stock(mug) == 10
    (charge,) = shop.charges_of(order_id)
    assert (charge["amount_refunded"], charge["refunded"]) == ("9.00", True)


def test_a_cancel_retried_twenty_times_in_parallel_refunds_once_and_restocks_once(shop, buyer, admin_headers):
    customer_id, headers = buyer
    mug = shop.create_product(stock=10, price="4.00")
    shop.fill_cart(headers, [(mug, 5)])
    order_id = shop.check_out(customer_id, headers).json()["id"]
    callers = [headers, admin_headers] * 10
    answers = run_concurrently([lambda h=h: shop.set_status(order_id, "cancelled", h) for h in callers], workers=20)
    assert sorted(answer.status_code for answer in answers) == [200] + [409] * 19
    assert shop.stock(mug) == 10
    (charge,) = shop.charges_of(order_id)
    assert (charge["amount_captured"], charge["amount_refunded"]) == ("20.00", "20.00")
    payments = shop.call("GET", f"/api/payments?transactionId={order_id}", headers=admin_headers).json()["payments"]
    assert [(p["status"], p["refundedAmount"]) for p in payments] == [("refunded", "20.00")]
    assert shop.set_status(order_id, "cancelled").status_code == 409
    assert shop.stock(mug) == 10


def test_a_paid_order_is_deleted_only_once_cancelled_and_refunded(shop, buyer):
    customer_id, headers = buyer
    shop.fill_cart(headers, [(shop.create_product(stock=10), 1)])
    order_id = shop.check_out(customer_id, headers).json()["id"]
    assert_error(shop.call("DELETE", f"/api/transactions/{order_id}", headers=shop.admin), 409, "invalid_transition")
    shop.set_status(order_id, "cancelled")
    assert shop.call("DELETE", f"/api/transactions/{order_id}", headers=shop.admin).status_code == 200


@contextmanager
def crashing_at(stack, step):
    """The transaction service, started with FAULT_CRASH_AT=step (its worker exits there); normal again after."""
    normal = dict(stack.environments["transaction"])
    stack.stop("transaction")
    stack.environments["transaction"] = dict(normal, FAULT_CRASH_AT=step)
    try:
        stack.start("transaction")
        yield
    finally:
        stack.stop("transaction")
        stack.environments["transaction"] = normal
        stack.start("transaction")


@pytest.mark.parametrize("step", ["after_record", "after_reserve", "after_confirm", "before_charge"])
def test_a_checkout_crashed_at_any_step_ends_paid_once_or_dropped_with_nothing_charged(shop, stack, buyer, step):
    """Before the stock is confirmed: rolled back, the cart kept. After: the sweeper asks for the charge
    with the order's key, so the order is paid exactly once and the cart emptied."""
    customer_id, headers = buyer
    mug = shop.create_product(stock=10, price="2.00")
    shop.fill_cart(headers, [(mug, 3)])
    key = str(uuid.uuid4())
    with crashing_at(stack, step):
        assert shop.check_out(customer_id, headers, key=key).status_code in (502, 503, 504)
    confirmed = step in ("after_confirm", "before_charge")
    orders_url = f"/api/transactions/customer/{customer_id}"
    if confirmed:
        (order,) = shop.wait_for(
            lambda: [o for o in shop.call("GET", orders_url, headers=headers).json() if o["status"] == "paid"]
        )
        assert [c["amount_captured"] for c in shop.charges_of(order["id"]) if c["status"] == "succeeded"] == ["6.00"]
        assert shop.cart(headers)["items"] == []
    else:
        shop.wait_for(lambda: shop.check_out(customer_id, headers, key=key).status_code == 201)
    assert shop.stock(mug) == 7
    assert [o["status"] for o in shop.call("GET", orders_url, headers=headers).json()] == ["paid"]


def test_a_cancel_crashed_before_its_refund_is_refunded_and_restocked_once_by_the_sweeper(shop, stack, buyer):
    customer_id, headers = buyer
    mug = shop.create_product(stock=10, price="2.00")
    shop.fill_cart(headers, [(mug, 4)])
    order_id = shop.check_out(customer_id, headers).json()["id"]
    with crashing_at(stack, "after_cancel"):
        assert shop.set_status(order_id, "cancelled", headers).status_code in (502, 503, 504)
    order = shop.wait_for(lambda: (o := shop.order(order_id))["payment"]["status"] == "refunded" and o)
    assert order["status"] == "cancelled"
    shop.wait_for(lambda: shop.stock(mug) == 10, what="the stock release")
    (charge,) = shop.charges_of(order_id)
    assert (charge["amount_captured"], charge["amount_refunded"]) == ("8.00", "8.00")
    assert_error(shop.set_status(order_id, "cancelled", headers), 409, "invalid_transition")
    assert shop.stock(mug) == 10
