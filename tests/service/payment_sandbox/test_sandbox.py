"""The payment sandbox in process against its real test database: charges, declines, refunds, keys, behaviour."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.service.conftest import serve_in_thread
from tests.service.payment_sandbox.conftest import SANDBOX_KEY


def provider_error(response, status, error_type):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["type"] == error_type and error["message"]
    return error


def ledger(client, **query):
    response = client.get("/v1/charges", query_string=query, headers=SANDBOX_KEY)
    assert response.status_code == 200
    assert response.get_json()["object"] == "list"
    return response.get_json()["data"]


def test_a_visa_card_is_charged_and_captured(client, charge):
    response = charge("key-1", metadata={"order_id": "12"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["id"].startswith("ch_") and body["object"] == "charge"
    assert body["amount"] == body["amount_captured"] == "19.00" and body["amount_refunded"] == "0.00"
    assert (body["status"], body["captured"], body["refunded"]) == ("succeeded", True, False)
    assert body["idempotency_key"] == "key-1" and body["metadata"] == {"order_id": "12"}
    assert isinstance(body["created"], int)
    assert ledger(client) == [body]


@pytest.mark.parametrize(
    ("payment_method", "decline_code"),
    [("pm_card_chargeDeclined", "generic_decline"), ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds")],
)
def test_a_declined_card_is_recorded_failed_and_answered_402(client, charge, payment_method, decline_code):
    error = provider_error(charge("key-d", payment_method), 402, "card_error")
    assert error["code"] == "card_declined" and error["decline_code"] == decline_code
    [recorded] = ledger(client)
    assert recorded["id"] == error["charge"]
    assert (recorded["status"], recorded["captured"], recorded["amount_captured"]) == ("failed", False, "0.00")


def test_an_unknown_payment_method_is_refused_and_nothing_recorded(client, charge):
    error = provider_error(charge("key-u", "pm_card_unknown"), 400, "invalid_request_error")
    assert (error["code"], error["param"]) == ("resource_missing", "payment_method")
    assert ledger(client) == []


def test_the_same_key_and_body_answer_the_first_answer_again(client, charge):
    first = charge("key-r")
    again = charge("key-r")
    assert again.status_code == 201 and again.get_json() == first.get_json()
    declined = charge("key-rd", "pm_card_chargeDeclined")
    assert charge("key-rd", "pm_card_chargeDeclined").get_json() == declined.get_json()
    assert len(ledger(client)) == 2


def test_the_same_key_with_another_body_is_an_idempotency_error(client, charge):
    charge("key-o")
    provider_error(charge("key-o", amount="20.00"), 400, "idempotency_error")
    provider_error(charge("key-o", "pm_card_unknown"), 400, "idempotency_error")
    assert len(ledger(client)) == 1


def test_twenty_concurrent_requests_with_one_key_make_one_charge(app, client):
    import requests

    url, server = serve_in_thread(app)
    body = {"amount": "5.00", "currency": "usd", "payment_method": "pm_card_visa"}
    try:
        with ThreadPoolExecutor(20) as pool:
            answers = list(
                pool.map(
                    lambda _: requests.post(
                        f"{url}/v1/charges", json=body, headers={**SANDBOX_KEY, "Idempotency-Key": "same"}, timeout=10
                    ),
                    range(20),
                )
            )
    finally:
        server.shutdown()
    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert len(ledger(client, idempotency_key="same")) == len(ledger(client)) == 1


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer sk_test_other"}, {"Authorization": "Basic eA=="}])
def test_a_call_without_the_secret_key_is_401(client, headers):
    provider_error(client.get("/v1/charges", headers=headers), 401, "invalid_request_error")


def test_a_charge_needs_an_idempotency_key(client):
    body = {"amount": "1.00", "currency": "usd", "payment_method": "pm_card_visa"}
    error = provider_error(client.post("/v1/charges", json=body, headers=SANDBOX_KEY), 400, "invalid_request_error")
    assert error["code"] == "idempotency_key_required"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"currency": "usd", "payment_method": "pm_card_visa"}, "amount"),
        ({"amount": "0", "payment_method": "pm_card_visa"}, "amount"),
        ({"amount": "1.001", "payment_method": "pm_card_visa"}, "amount"),
        ({"amount": "1.00", "currency": "USD!", "payment_method": "pm_card_visa"}, "currency"),
        ({"amount": "1.00"}, "payment_method"),
        ({"amount": "1.00", "payment_method": "pm_card_visa", "metadata": []}, "metadata"),
    ],
)
def test_an_invalid_charge_is_refused_with_the_parameter_named(client, body, param):
    response = client.post("/v1/charges", json=body, headers={**SANDBOX_KEY, "Idempotency-Key": "k"})
    assert provider_error(response, 400, "invalid_request_error")["param"] == param
    assert ledger(client) == []


def refund(client, key, **body):
    return client.post("/v1/refunds", json=body, headers={**SANDBOX_KEY, "Idempotency-Key": key})


def test_a_refund_in_full_then_replayed_refunds_once(client, charge):
    charge_id = charge("key-f").get_json()["id"]
    first = refund(client, "refund-1", charge=charge_id)
    assert first.status_code == 201
    assert first.get_json() | {"id": None} == {
        "id": None,
        "object": "refund",
        "charge": charge_id,
        "amount": "19.00",
        "status": "succeeded",
        "created": first.get_json()["created"],
    }
    assert refund(client, "refund-1", charge=charge_id).get_json() == first.get_json()
    provider_error(refund(client, "refund-2", charge=charge_id), 400, "invalid_request_error")
    [recorded] = ledger(client)
    assert (recorded["amount_refunded"], recorded["refunded"]) == ("19.00", True)


def test_partial_refunds_up_to_what_remains(client, charge):
    charge_id = charge("key-p").get_json()["id"]
    assert refund(client, "p-1", charge=charge_id, amount="4.00").status_code == 201
    provider_error(refund(client, "p-2", charge=charge_id, amount="15.01"), 400, "invalid_request_error")
    assert refund(client, "p-3", charge=charge_id).get_json()["amount"] == "15.00"
    provider_error(refund(client, "p-1", charge=charge_id, amount="5.00"), 400, "idempotency_error")
    assert ledger(client)[0]["refunded"] is True


def test_a_declined_or_unknown_charge_cannot_be_refunded(client, charge):
    declined = charge("key-x", "pm_card_chargeDeclined").get_json()["error"]["charge"]
    provider_error(refund(client, "x-1", charge=declined), 400, "invalid_request_error")
    provider_error(refund(client, "x-2", charge="ch_nothing"), 400, "invalid_request_error")


def test_one_charge_is_read_by_id(client, charge):
    made = charge("key-g").get_json()
    assert client.get(f"/v1/charges/{made['id']}", headers=SANDBOX_KEY).get_json() == made
    provider_error(client.get("/v1/charges/ch_none", headers=SANDBOX_KEY), 404, "invalid_request_error")


def test_the_behaviour_defaults_to_the_settings_and_changes_while_running(client, charge):
    assert client.get("/v1/test_helpers/behaviour", headers=SANDBOX_KEY).get_json() == {
        "delay_seconds": 0.0,
        "failure_rate": 0.0,
        "late_rate": 0.0,
        "late_seconds": 30.0,
    }
    changed = client.post("/v1/test_helpers/behaviour", json={"failure_rate": 1}, headers=SANDBOX_KEY)
    assert changed.status_code == 200 and changed.get_json()["failure_rate"] == 1.0
    provider_error(charge("key-b"), 500, "api_error")
    assert client.get("/v1/test_helpers/behaviour", headers=SANDBOX_KEY).get_json()["failure_rate"] == 1.0
    client.post("/v1/test_helpers/behaviour", json={"failure_rate": 0}, headers=SANDBOX_KEY)
    assert ledger(client) == []


@pytest.mark.parametrize("body", [{"failure_rate": 2}, {"delay_seconds": -1}, {"late_rate": "x"}, {"speed": 1}])
def test_a_bad_behaviour_is_refused(client, body):
    response = client.post("/v1/test_helpers/behaviour", json=body, headers=SANDBOX_KEY)
    provider_error(response, 400, "invalid_request_error")


def test_a_late_charge_is_recorded_before_the_late_answer(app, client):
    import requests

    client.post("/v1/test_helpers/behaviour", json={"late_rate": 1, "late_seconds": 3}, headers=SANDBOX_KEY)
    url, server = serve_in_thread(app)
    body = {"amount": "7.00", "currency": "usd", "payment_method": "pm_card_visa"}
    try:
        with pytest.raises(requests.ReadTimeout):
            requests.post(f"{url}/v1/charges", json=body, headers={**SANDBOX_KEY, "Idempotency-Key": "late"}, timeout=1)
        assert [charge["idempotency_key"] for charge in ledger(client)] == ["late"]
        again = requests.post(
            f"{url}/v1/charges", json=body, headers={**SANDBOX_KEY, "Idempotency-Key": "late"}, timeout=2
        )
        assert again.status_code == 201 and again.json()["idempotency_key"] == "late"
    finally:
        server.shutdown()
    assert len(ledger(client)) == 1
