"""Routes of the payment sandbox: a provider's API in the manner of Stripe's test mode, money as decimal strings.

| route | what |
|---|---|
| POST /v1/charges | charge a payment method (``Idempotency-Key`` required) |
| GET /v1/charges, GET /v1/charges/<id> | the ledger, oldest first (``?idempotency_key=`` filters), one charge |
| POST /v1/refunds | refund a charge, in full or in part (``Idempotency-Key`` required) |
| GET, POST /v1/test_helpers/behaviour | the failure injection in force (behaviour.py) |

Every route needs ``Authorization: Bearer <SANDBOX_SECRET_KEY>`` (the shop's JWTs are not accepted).
"""

import hmac
import re
import time

from flask import Blueprint, current_app, jsonify, request

from shop_common.validation import Fields, json_body

from . import behaviour, ledger, repository
from .ledger import SandboxError

sandbox = Blueprint("sandbox", __name__, url_prefix="/v1")

CURRENCY = re.compile(r"[a-z]{3}")
MAX_METADATA_KEYS = 50
TEST_HELPERS = frozenset({"sandbox.read_behaviour", "sandbox.change_behaviour"})


@sandbox.before_request
def authenticate_and_behave():
    """The secret key, then the failure injection in force: a delay, then perhaps a 500 having done nothing.

    :raise SandboxError: 401 no or another key; 500 an injected failure.
    """
    expected = f"Bearer {current_app.config['SANDBOX_SECRET_KEY']}".encode()
    if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected):
        raise SandboxError(401, "invalid_request_error", "Invalid API Key provided.")
    if request.endpoint in TEST_HELPERS:
        return
    in_force = behaviour.in_force(current_app.config)
    if in_force["delay_seconds"]:
        time.sleep(in_force["delay_seconds"])
    if behaviour.happens(in_force["failure_rate"]):
        raise SandboxError(500, "api_error", "An injected failure: nothing was done; try again.")


def answer_late_perhaps():
    """After a charge or refund was recorded: wait ``late_seconds`` for the injected share of them."""
    in_force = behaviour.in_force(current_app.config)
    if behaviour.happens(in_force["late_rate"]):
        time.sleep(in_force["late_seconds"])


def idempotency_key():
    """:raise SandboxError: 400, no ``Idempotency-Key`` (or one over 255 characters)."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not 1 <= len(key) <= 255:
        raise SandboxError(
            400,
            "invalid_request_error",
            "An Idempotency-Key header (1 to 255 characters) is required.",
            code="idempotency_key_required",
        )
    return key


def parse_charge(body):
    """:raise 400: with every problem found (the error handler writes the provider's shape)."""
    fields = Fields(body)
    amount = fields.money("amount")
    if amount is not None and amount <= 0:
        fields.add("amount", "must be more than 0")
    currency = fields.string("currency", required=False, min_length=3, max_length=3, pattern=CURRENCY)
    payment_method = fields.string("payment_method")
    metadata = body.get("metadata", {})
    if not isinstance(metadata, dict) or len(metadata) > MAX_METADATA_KEYS:
        fields.add("metadata", f"must be an object of at most {MAX_METADATA_KEYS} keys")
    elif not all(isinstance(value, str | int) and not isinstance(value, bool) for value in metadata.values()):
        fields.add("metadata", "values must be strings or integers")
    fields.check()
    metadata = {str(name): str(value) for name, value in metadata.items()}
    return ledger.ChargeRequest(amount, currency or "usd", payment_method, metadata)


@sandbox.post("/charges")
def create_charge():
    """Charge ``payment_method``: 201 the charge, 402 declined (recorded, failed), 400 unknown method.

    :raise SandboxError: 400, 402 as above, or the key reused with another body.
    """
    key = idempotency_key()
    charge, recorded = ledger.create_charge(key, parse_charge(json_body()))
    if recorded:
        answer_late_perhaps()
    return jsonify(ledger.charge_answer(charge)), 201


@sandbox.get("/charges")
def list_charges():
    """The ledger, oldest first; ``?idempotency_key=K``: the charge made with that key (or none)."""
    key = request.args.get("idempotency_key")
    if key is None:
        charges = repository.list_charges()
    else:
        charges = [charge for charge in [repository.find_charge_by_key(key)] if charge is not None]
    return jsonify(object="list", data=[ledger.charge_json(charge) for charge in charges])


@sandbox.get("/charges/<charge_id>")
def read_charge(charge_id):
    """:raise SandboxError: 404, no such charge."""
    charge = repository.find_charge(charge_id)
    if charge is None:
        raise SandboxError(
            404, "invalid_request_error", f"No such charge: '{charge_id}'.", code="resource_missing", param="id"
        )
    return jsonify(ledger.charge_json(charge))


@sandbox.post("/refunds")
def create_refund():
    """Refund ``charge`` by ``amount`` (all that remains when absent): 201 the refund.

    :raise SandboxError: 400 no such charge, more than remains, the key reused with another body.
    """
    key = idempotency_key()
    fields = Fields(json_body())
    charge_id = fields.string("charge", max_length=32)
    amount = fields.money("amount", required=False)
    fields.check()
    refund, recorded = ledger.create_refund(key, charge_id, amount)
    if recorded:
        answer_late_perhaps()
    return jsonify(ledger.refund_json(refund)), 201


@sandbox.get("/test_helpers/behaviour")
def read_behaviour():
    return jsonify(behaviour.in_force(current_app.config))


@sandbox.post("/test_helpers/behaviour")
def change_behaviour():
    """Change the failure injection while the sandbox runs; fields not sent keep their value.

    :raise SandboxError: 400, a field unknown or out of range.
    """
    changes = json_body()
    problems = behaviour.problems(changes)
    if problems:
        name, problem = next(iter(problems.items()))
        raise SandboxError(400, "invalid_request_error", f"{name} {problem}.", code="parameter_invalid", param=name)
    return jsonify(behaviour.change(current_app.config, changes))
