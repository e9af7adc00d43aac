"""Payments over real processes: the sandbox under gunicorn, the payment service charging through it, the gateway.

The sandbox is made slow, failing or late while it runs (``/v1/test_helpers/behaviour``) and
killed with SIGKILL; whatever happens, one key makes at most one charge.
"""

import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.gateway_helpers import assert_json_error, request_id
from tests.support import TEST_JWT_SECRET

SANDBOX_KEY = {"Authorization": "Bearer sk_test_sandbox"}


def service_token():
    import jwt

    now = int(time.time())
    claims = {"sub": "service:transaction", "role": "service", "type": "access", "fresh": False}
    claims |= {"jti": uuid.uuid4().hex, "iat": now, "nbf": now, "exp": now + 600}
    return {"Authorization": f"Bearer {jwt.encode(claims, TEST_JWT_SECRET, algorithm='HS256')}"}


class Sandbox:
    def __init__(self, url):
        self.url = url

    def charge(self, key, payment_method="pm_card_visa", amount="10.00"):
        body = {"amount": amount, "currency": "usd", "payment_method": payment_method}
        return requests.post(
            f"{self.url}/v1/charges", json=body, headers={**SANDBOX_KEY, "Idempotency-Key": key}, timeout=10
        )

    def refund(self, key, charge_id):
        return requests.post(
            f"{self.url}/v1/refunds",
            json={"charge": charge_id},
            headers={**SANDBOX_KEY, "Idempotency-Key": key},
            timeout=10,
        )

    def charges(self, key):
        response = requests.get(
            f"{self.url}/v1/charges", params={"idempotency_key": key}, headers=SANDBOX_KEY, timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def ledger(self):
        return requests.get(f"{self.url}/v1/charges", headers=SANDBOX_KEY, timeout=10).json()["data"]

    def behave(self, **behaviour):
        response = requests.post(
            f"{self.url}/v1/test_helpers/behaviour", json=behaviour, headers=SANDBOX_KEY, timeout=10
        )
        assert response.status_code == 200, response.text


@pytest.fixture
def sandbox(stack):
    """The stack's sandbox, behaving normally again after the test."""
    running = Sandbox(stack.urls["sandbox"])
    yield running
    running.behave(delay_seconds=0, failure_rate=0, late_rate=0, late_seconds=30)


class Payments:
    def __init__(self, url):
        self.url = url

    def pay(self, key, order_id, amount="19.00", payment_method="pm_card_visa"):
        body = {"orderId": order_id, "amount": amount, "paymentMethod": payment_method}
        return requests.post(
            f"{self.url}/internal/payments", json=body, headers={**service_token(), "Idempotency-Key": key}, timeout=15
        )

    def refund(self, payment_id, key):
        return requests.post(
            f"{self.url}/internal/payments/{payment_id}/refund",
            headers={**service_token(), "Idempotency-Key": key},
            timeout=15,
        )

    def of_order(self, order_id):
        response = requests.get(
            f"{self.url}/internal/payments", params={"orderId": order_id}, headers=service_token(), timeout=10
        )
        return response.json()["payments"]


@pytest.fixture
def payments(stack):
    return Payments(stack.urls["payment"])


def new_key(what="charge"):
    return f"order-{uuid.uuid4()}-{what}"


def new_order_id():
    return int.from_bytes(os.urandom(3), "big") + 1


def test_each_sandbox_answer_over_http(sandbox):
    assert sandbox.charge(new_key()).status_code == 201
    declined = sandbox.charge(new_key(), "pm_card_chargeDeclinedInsufficientFunds")
    assert declined.status_code == 402 and declined.json()["error"]["decline_code"] == "insufficient_funds"
    unknown = sandbox.charge(new_key(), "pm_card_whatever")
    assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "payment_method"
    assert requests.get(f"{sandbox.url}/v1/charges", timeout=10).status_code == 401


def test_twenty_concurrent_charges_with_one_key_make_one_charge(sandbox):
    key = new_key()
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: sandbox.charge(key), range(20)))
    assert [answer.status_code for answer in answers] == [201] * 20
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert len(sandbox.charges(key)) == 1


def test_twenty_concurrent_refunds_refund_once(sandbox):
    charge_id = sandbox.charge(new_key()).json()["id"]
    key = new_key("refund")
    keys = [key] * 10 + [new_key("refund") for _ in range(10)]
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda refund_key: sandbox.refund(refund_key, charge_id), keys))
    refunded = {answer.json()["id"] for answer in answers if answer.status_code == 201}
    assert len(refunded) == 1 and {answer.status_code for answer in answers} <= {201, 400}
    [charge] = [charge for charge in sandbox.ledger() if charge["id"] == charge_id]
    assert (charge["amount_refunded"], charge["refunded"]) == ("10.00", True)


def test_the_ledger_survives_a_sigkill_of_the_sandbox(sandbox, stack):
    key = new_key()
    charge = sandbox.charge(key).json()
    os.killpg(stack.master_pids["sandbox"], signal.SIGKILL)
    time.sleep(0.3)
    stack.start("sandbox")
    assert sandbox.charges(key) == [charge]
    assert sandbox.charge(key).json() == charge


def refused_while(sandbox, payments, status, code, **behaviour):
    """A new key and order paid while the sandbox behaves so, refused with ``status`` and ``code``;
    then the sandbox behaves normally again. Returns (key, order id)."""
    key, order_id = new_key(), new_order_id()
    sandbox.behave(**behaviour)
    assert_json_error(payments.pay(key, order_id), status, code)
    sandbox.behave(**dict.fromkeys(behaviour, 0))
    return key, order_id


def test_a_failing_sandbox_is_503_then_the_same_key_pays_once(sandbox, payments):
    key, order_id = refused_while(sandbox, payments, 503, "service_unavailable", failure_rate=1)
    assert [payment["status"] for payment in payments.of_order(order_id)] == ["pending"]
    payment = payments.pay(key, order_id).json()
    assert payment["status"] == "captured"
    assert [charge["id"] for charge in sandbox.charges(key)] == [payment["providerReference"]]


def test_a_slow_sandbox_is_504_then_the_same_key_pays_once(sandbox, payments):
    key, order_id = refused_while(sandbox, payments, 504, "gateway_timeout", delay_seconds=3)
    payment = payments.pay(key, order_id).json()
    assert payment["status"] == "captured"
    time.sleep(2)  # the first, delayed call reaches the sandbox meanwhile: it replays the one charge
    assert [charge["id"] for charge in sandbox.charges(key)] == [payment["providerReference"]]


def test_a_late_sandbox_is_504_with_the_charge_made_then_the_same_key_finds_it(sandbox, payments):
    key, order_id = refused_while(sandbox, payments, 504, "gateway_timeout", late_rate=1, late_seconds=5)
    [charge] = sandbox.charges(key)
    payment = payments.pay(key, order_id).json()
    assert (payment["status"], payment["providerReference"]) == ("captured", charge["id"])
    assert len(sandbox.charges(key)) == 1


def test_the_sweeper_settles_a_late_charge_from_the_providers_answer(sandbox, payments):
    key, order_id = refused_while(sandbox, payments, 504, "gateway_timeout", late_rate=1, late_seconds=5)
    deadline = time.monotonic() + 15
    while payments.of_order(order_id)[0]["status"] == "pending":
        assert time.monotonic() < deadline, "the sweeper did not settle the payment"
        time.sleep(0.5)
    [payment] = payments.of_order(order_id)
    assert payment["status"] == "captured"
    assert [charge["id"] for charge in sandbox.charges(key)] == [payment["providerReference"]]


def test_the_sweeper_never_charges_a_payment_the_provider_never_saw(sandbox, payments):
    key, order_id = refused_while(sandbox, payments, 503, "service_unavailable", failure_rate=1)
    time.sleep(6)  # past PAYMENT_STALE_SECONDS, with the sweeper running every second
    assert [payment["status"] for payment in payments.of_order(order_id)] == ["pending"]
    assert sandbox.charges(key) == []


def test_a_refund_retried_in_parallel_refunds_once(sandbox, payments):
    key, order_id = new_key(), new_order_id()
    payment_id = payments.pay(key, order_id).json()["id"]
    refund_key = key.replace("charge", "refund")
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: payments.refund(payment_id, refund_key), range(10)))
    assert {answer.status_code for answer in answers} == {200}
    assert {answer.json()["status"] for answer in answers} == {"refunded"}
    [charge] = sandbox.charges(key)
    assert (charge["amount_refunded"], charge["refunded"]) == ("19.00", True)


def test_admins_read_payments_through_the_gateway_and_no_one_else(api, stack, admin_headers, user, payments):
    order_id = new_order_id()
    payments.pay(new_key(), order_id)
    listed = api.get(f"/api/payments?transactionId={order_id}", headers=admin_headers)
    assert listed.status_code == 200
    assert [payment["orderId"] for payment in listed.json()["payments"]] == [order_id]
    sent_id = request_id("payments-customer")
    refused = api.get("/api/payments", headers={**user[1], "X-Request-ID": sent_id})
    assert_json_error(refused, 403, "forbidden")
    assert sent_id not in stack.log("payment")
    assert_json_error(api.get("/api/payments"), 401, "unauthorized")


def test_the_gateway_health_lists_the_payment_service(api):
    assert api.get("/health").json()["services"]["payment"] == "ok"
