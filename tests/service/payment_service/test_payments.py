"""The payment service in process, against its real database and a real sandbox served from a thread."""

import time

import pytest

from tests.support import assert_error

PAYMENT_FIELDS = {
    "id",
    "orderId",
    "amount",
    "currency",
    "status",
    "paymentMethod",
    "providerReference",
    "declineReason",
    "refundedAmount",
    "createdAt",
    "updatedAt",
}


def test_a_payment_is_recorded_and_captured_at_the_provider(pay, sandbox):
    response = pay()
    assert response.status_code == 201
    payment = response.get_json()
    assert set(payment) == PAYMENT_FIELDS
    assert (payment["orderId"], payment["amount"], payment["currency"]) == (12, "19.00", "usd")
    assert (payment["status"], payment["refundedAmount"]) == ("captured", "0.00")
    [charge] = sandbox.charges()
    assert charge["id"] == payment["providerReference"]
    assert (charge["idempotency_key"], charge["metadata"]) == ("order-r1-charge", {"order_id": "12"})


@pytest.mark.parametrize(
    ("payment_method", "reason"),
    [("pm_card_chargeDeclined", "generic_decline"), ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds")],
)
def test_a_declined_card_is_402_with_the_reason(pay, sandbox, payment_method, reason):
    response = pay(payment_method=payment_method)
    assert response.status_code == 402
    body = response.get_json()
    assert (body["error"], body["reason"], body["payment"]["status"]) == ("payment_declined", reason, "declined")
    assert pay(payment_method=payment_method).get_json() == body
    assert [charge["status"] for charge in sandbox.charges()] == ["failed"]


def test_an_unknown_payment_method_is_400_and_nothing_is_charged(pay, sandbox):
    response = pay(payment_method="pm_card_nothing")
    assert response.status_code == 400
    body = response.get_json()
    assert (body["error"], body["payment"]["status"]) == ("unknown_payment_method", "failed")
    assert sandbox.charges() == []


def test_the_same_key_answers_the_recorded_payment_without_a_second_charge(pay, sandbox):
    first = pay().get_json()
    assert pay().get_json() == first
    assert len(sandbox.charges()) == 1


def test_the_same_key_for_another_payment_is_422(pay, sandbox):
    pay()
    assert_error(pay(amount="20.00"), 422, "idempotency_key_reused")
    assert_error(pay(order_id=13), 422, "idempotency_key_reused")
    assert len(sandbox.charges()) == 1


def test_a_failing_provider_is_503_the_payment_pending_then_the_same_key_settles_it(pay, sandbox, client, tokens):
    sandbox.behave(failure_rate=1)
    assert_error(pay(), 503)
    [pending] = client.get("/internal/payments?orderId=12", headers=tokens.service()).get_json()["payments"]
    sandbox.behave(failure_rate=0)
    assert pending["status"] == "pending" and sandbox.charges() == []
    assert pay().get_json()["status"] == "captured"
    assert len(sandbox.charges()) == 1


def test_a_late_provider_is_504_and_the_retry_finds_the_one_charge(pay, sandbox):
    sandbox.behave(late_rate=1, late_seconds=3)
    assert_error(pay(), 504)
    assert len(sandbox.charges()) == 1
    sandbox.behave(late_rate=0)
    payment = pay().get_json()
    assert payment["status"] == "captured"
    assert [charge["id"] for charge in sandbox.charges()] == [payment["providerReference"]]


def sweep_once(app):
    """The sweeper's pass with 1 s for stale, 2.1 s later (updated_at has whole seconds); what it settled."""
    from payment_service.app import sweep_stale_payments

    time.sleep(2.1)
    with app.app_context():
        app.config["PAYMENT_STALE_SECONDS"] = 1
        try:
            return sweep_stale_payments(app)
        finally:
            app.config["PAYMENT_STALE_SECONDS"] = 30


def test_the_sweeper_settles_a_pending_payment_from_the_providers_ledger(app, pay, sandbox, client, tokens):
    sandbox.behave(late_rate=1, late_seconds=3)
    assert_error(pay(), 504)
    sandbox.behave(late_rate=0)
    assert sweep_once(app) == 1
    [payment] = client.get("/internal/payments?orderId=12", headers=tokens.service()).get_json()["payments"]
    assert payment["status"] == "captured"
    assert len(sandbox.charges()) == 1


def test_the_sweeper_never_charges_a_payment_the_provider_never_saw(app, pay, sandbox, client, tokens):
    sandbox.behave(failure_rate=1)
    assert_error(pay(), 503)
    sandbox.behave(failure_rate=0)
    assert sweep_once(app) == 0
    assert sandbox.charges() == []


def refund(client, tokens, payment_id, key="order-r1-refund"):
    return client.post(f"/internal/payments/{payment_id}/refund", headers={**tokens.service(), "Idempotency-Key": key})


def test_a_refund_is_made_once_however_often_asked(pay, sandbox, client, tokens):
    payment_id = pay().get_json()["id"]
    refunded = refund(client, tokens, payment_id)
    assert refunded.status_code == 200
    assert (refunded.get_json()["status"], refunded.get_json()["refundedAmount"]) == ("refunded", "19.00")
    assert refund(client, tokens, payment_id).get_json() == refunded.get_json()
    assert refund(client, tokens, payment_id, key="another-key").get_json() == refunded.get_json()
    [charge] = sandbox.charges()
    assert (charge["refunded"], charge["amount_refunded"]) == (True, "19.00")


def test_a_refund_when_the_provider_fails_is_503_and_safe_to_retry(pay, sandbox, client, tokens):
    payment_id = pay().get_json()["id"]
    sandbox.behave(failure_rate=1)
    assert_error(refund(client, tokens, payment_id), 503)
    sandbox.behave(failure_rate=0)
    assert refund(client, tokens, payment_id).get_json()["status"] == "refunded"
    assert sandbox.charges()[0]["amount_refunded"] == "19.00"


def test_a_payment_not_captured_cannot_be_refunded(pay, client, tokens):
    payment_id = pay(payment_method="pm_card_chargeDeclined").get_json()["payment"]["id"]
    assert_error(refund(client, tokens, payment_id), 409, "payment_not_captured")
    assert_error(refund(client, tokens, 999999), 404)


def test_internal_routes_take_service_tokens_only(client, tokens):
    body = {"orderId": 1, "amount": "1.00", "paymentMethod": "pm_card_visa"}
    assert_error(client.post("/internal/payments", json=body, headers={"Idempotency-Key": "k"}), 401)
    for headers in (tokens.admin(), tokens.for_user(5)):
        assert_error(client.post("/internal/payments", json=body, headers={**headers, "Idempotency-Key": "k"}), 403)
        assert_error(client.get("/internal/payments", headers=headers), 403)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "1.00", "paymentMethod": "pm_card_visa"}, "orderId"),
        ({"orderId": 0, "amount": "1.00", "paymentMethod": "pm_card_visa"}, "orderId"),
        ({"orderId": 1, "amount": "0.00", "paymentMethod": "pm_card_visa"}, "amount"),
        ({"orderId": 1, "amount": "1.001", "paymentMethod": "pm_card_visa"}, "amount"),
        ({"orderId": 1, "amount": "1.00"}, "paymentMethod"),
    ],
)
def test_an_invalid_payment_is_400_and_changes_nothing(client, tokens, sandbox, body, field):
    response = client.post("/internal/payments", json=body, headers={**tokens.service(), "Idempotency-Key": "k"})
    assert field in assert_error(response, 400, "validation_error")["fields"]
    assert client.get("/internal/payments", headers=tokens.service()).get_json() == {"payments": []}


def test_a_payment_needs_an_idempotency_key(client, tokens):
    body = {"orderId": 1, "amount": "1.00", "paymentMethod": "pm_card_visa"}
    assert_error(
        client.post("/internal/payments", json=body, headers=tokens.service()), 400, "idempotency_key_required"
    )


def test_admins_list_the_payments_of_an_order(pay, client, tokens):
    pay(key="a", order_id=1)
    pay(key="b", order_id=2)
    listed = client.get("/api/payments?transactionId=2", headers=tokens.admin()).get_json()["payments"]
    assert [payment["orderId"] for payment in listed] == [2]
    assert len(client.get("/api/payments", headers=tokens.admin()).get_json()["payments"]) == 2
    assert_error(client.get("/api/payments", headers=tokens.for_user(7)), 403)
    assert_error(client.get("/api/payments"), 401)
    assert_error(client.get("/api/payments?transactionId=x", headers=tokens.admin()), 400, "validation_error")


def metric(client, line_start):
    text = client.get("/metrics").get_data(as_text=True)
    return next(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start))


def test_metrics_count_payments_by_outcome_refunds_and_stale_pending_ones(app, pay, sandbox, client, tokens):
    scraped = client.get("/metrics").get_data(as_text=True)
    captured = metric(client, 'shop_payments_total{outcome="captured"}') if 'outcome="captured"' in scraped else 0.0
    payment_id = pay(key="m-1").get_json()["id"]
    refund(client, tokens, payment_id, key="m-1-refund")
    assert metric(client, 'shop_payments_total{outcome="captured"}') == captured + 1
    assert metric(client, "shop_refunds_total ") >= 1
    sandbox.behave(failure_rate=1)
    assert_error(pay(key="m-2"), 503)
    sandbox.behave(failure_rate=0)
    assert metric(client, 'shop_payments_total{outcome="unknown"}') >= 1
    time.sleep(2.1)  # updated_at has whole seconds: 1 s stale is safely past after 2
    app.config["PAYMENT_STALE_SECONDS"] = 1
    try:
        assert metric(client, "shop_payments_pending_stale ") == 1
    finally:
        app.config["PAYMENT_STALE_SECONDS"] = 30
