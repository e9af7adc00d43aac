"""The sandbox's rules: charges and refunds as a provider's test mode makes them, once per Idempotency-Key.

Payment methods are named as Stripe's test mode names them: ``pm_card_visa`` (and
``pm_card_mastercard``) succeed, ``pm_card_chargeDeclined`` and
``pm_card_chargeDeclinedInsufficientFunds`` are declined (the charge is recorded,
failed), any other name is refused with nothing recorded.

A key is recorded with the charge or refund it made, in one INSERT that a
UNIQUE index guards: of concurrent requests with one key exactly one records,
the others find its row and answer it again. The same key with another body is
refused (``idempotency_error``). A replayed charge shows its state now (a
refund since shows in ``amount_refunded``), with the status of the first answer.
"""

import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shop_common.db import DuplicateKey, Row, transaction

from . import repository

# payment method -> decline code (None: the charge succeeds)
PAYMENT_METHODS: dict[str, str | None] = {
    "pm_card_visa": None,
    "pm_card_mastercard": None,
    "pm_card_chargeDeclined": "generic_decline",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
}
DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
}
ZERO = Decimal("0.00")


class SandboxError(Exception):
    """An answer in the provider's error shape: ``{"error": {"type", "code"?, ..., "message"}}``."""

    def __init__(self, status: int, error_type: str, message: str, **details: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": {"type": self.error_type, **self.details, "message": self.message}}


@dataclass(frozen=True)
class ChargeRequest:
    amount: Decimal
    currency: str
    payment_method: str
    metadata: dict[str, str] = field(default_factory=dict)

    def request_hash(self) -> str:
        return _hash(
            {
                "amount": str(self.amount),
                "currency": self.currency,
                "payment_method": self.payment_method,
                "metadata": self.metadata,
            }
        )


def _hash(request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def create_charge(key: str, charge_request: ChargeRequest) -> tuple[Row, bool]:
    """The charge made with ``key``: ``(charge, True)`` when this call recorded it, ``(charge, False)`` a replay.

    :raise SandboxError: 400 an unknown payment method (nothing recorded), or the key used with another body.
    """
    request_hash = charge_request.request_hash()
    if charge_request.payment_method not in PAYMENT_METHODS:
        _same_request(repository.find_charge_by_key(key), request_hash)
        raise SandboxError(
            400,
            "invalid_request_error",
            f"No such PaymentMethod: '{charge_request.payment_method}'.",
            code="resource_missing",
            param="payment_method",
        )
    charge = _new_charge(key, request_hash, charge_request)
    try:
        repository.insert_charge(charge)
    except DuplicateKey:
        return _replayed(repository.find_charge_by_key(key), request_hash)
    return charge, True


def _new_charge(key: str, request_hash: str, charge_request: ChargeRequest) -> Row:
    decline_code = PAYMENT_METHODS[charge_request.payment_method]
    return {
        "id": _new_id("ch"),
        "idempotency_key": key,
        "request_hash": request_hash,
        "amount": charge_request.amount,
        "amount_captured": ZERO if decline_code else charge_request.amount,
        "amount_refunded": ZERO,
        "currency": charge_request.currency,
        "status": "failed" if decline_code else "succeeded",
        "decline_code": decline_code,
        "payment_method": charge_request.payment_method,
        "metadata": json.dumps(charge_request.metadata, sort_keys=True),
        "created": int(time.time()),
    }


def _same_request(row: Row | None, request_hash: str) -> None:
    """:raise SandboxError: 400, ``row`` (recorded under the same key) was made by another request."""
    if row is not None and row["request_hash"] != request_hash:
        raise SandboxError(
            400,
            "idempotency_error",
            "Keys for idempotent requests can only be used with the same parameters they were first used with.",
        )


def _replayed(row: Row | None, request_hash: str) -> tuple[Row, bool]:
    """``(row, False)``: what an earlier request with the same key recorded, answered again.

    :raise SandboxError: 400, the key was used with another body.
    """
    _same_request(row, request_hash)
    assert row is not None  # the key's UNIQUE index refused a row: there is one
    return row, False


def charge_answer(charge: Row) -> dict[str, Any]:
    """The charge as the API shows it.

    :raise SandboxError: 402, the charge was declined (it is recorded, failed).
    """
    if charge["status"] == "failed":
        raise SandboxError(
            402,
            "card_error",
            DECLINE_MESSAGES[charge["decline_code"]],
            code="card_declined",
            decline_code=charge["decline_code"],
            charge=charge["id"],
        )
    return charge_json(charge)


def charge_json(charge: Row) -> dict[str, Any]:
    return {
        "id": charge["id"],
        "object": "charge",
        "amount": charge["amount"],
        "amount_captured": charge["amount_captured"],
        "amount_refunded": charge["amount_refunded"],
        "currency": charge["currency"],
        "status": charge["status"],
        "captured": charge["status"] == "succeeded",
        "refunded": charge["status"] == "succeeded" and charge["amount_refunded"] == charge["amount_captured"],
        "payment_method": charge["payment_method"],
        "failure_code": charge["decline_code"],
        "idempotency_key": charge["idempotency_key"],
        "metadata": json.loads(charge["metadata"]),
        "created": charge["created"],
    }


def create_refund(key: str, charge_id: str, amount: Decimal | None) -> tuple[Row, bool]:
    """The refund made with ``key``: ``(refund, True)`` when this call recorded it, ``(refund, False)`` a replay.

    ``amount`` None refunds all that remains. Refunds of one charge queue on its row's lock,
    so what remains is never refunded twice.

    :raise SandboxError: 400 no such charge, one not captured, more than remains, or the key
        used with another body.
    """
    request_hash = _hash({"charge": charge_id, "amount": None if amount is None else str(amount)})
    try:
        with transaction():
            charge = repository.lock_charge(charge_id)
            existing = repository.find_refund_by_key(key)
            if existing is not None:
                return _replayed(existing, request_hash)
            refund = _new_refund(key, request_hash, _refundable(charge, charge_id), amount)
            repository.insert_refund(refund)
            repository.add_refunded_amount(charge_id, refund["amount"])
    except DuplicateKey:
        return _replayed(repository.find_refund_by_key(key), request_hash)
    return refund, True


def _refundable(charge: Row | None, charge_id: str) -> Row:
    """:raise SandboxError: 400, no such charge or one that captured nothing."""
    if charge is None:
        raise SandboxError(
            400, "invalid_request_error", f"No such charge: '{charge_id}'.", code="resource_missing", param="charge"
        )
    if charge["status"] != "succeeded":
        raise SandboxError(
            400, "invalid_request_error", f"Charge {charge_id} was not captured.", code="charge_not_refundable"
        )
    return charge


def _new_refund(key: str, request_hash: str, charge: Row, amount: Decimal | None) -> Row:
    """:raise SandboxError: 400, more than remains of the charge (or nothing remains)."""
    remaining = charge["amount_captured"] - charge["amount_refunded"]
    amount = remaining if amount is None else amount
    if amount <= 0 or amount > remaining:
        raise SandboxError(
            400,
            "invalid_request_error",
            f"Refund amount ({amount}) is greater than the unrefunded amount on charge ({remaining}).",
            code="amount_too_large",
            param="amount",
        )
    return {
        "id": _new_id("re"),
        "charge_id": charge["id"],
        "idempotency_key": key,
        "request_hash": request_hash,
        "amount": amount,
        "created": int(time.time()),
    }


def refund_json(refund: Row) -> dict[str, Any]:
    return {
        "id": refund["id"],
        "object": "refund",
        "charge": refund["charge_id"],
        "amount": refund["amount"],
        "status": "succeeded",
        "created": refund["created"],
    }
