"""The payment provider behind a small interface, and its one adapter here: the payment sandbox.

:class:`PaymentProvider` is what the payment service needs of any provider: charge
under an idempotency key, find the charge a key made, refund a charge under a
key. Every call is safe to repeat with the same key: the provider makes the
charge or refund once and answers it again. A Stripe adapter would implement the
same three methods against Stripe's API (the sandbox's is modelled on it: amounts
in cents there, ``Idempotency-Key`` the same) and be chosen by
``PAYMENT_PROVIDER_URL`` and ``PAYMENT_PROVIDER_KEY``.

Calls go through the project's HTTP client (shop_common/http_client.py), so the
request id and trace follow and each call is timed; the provider's timeout is
``PAYMENT_PROVIDER_TIMEOUT``. A provider that cannot be reached or answers 5xx
raises a 503 ``ApiError``, one that does not answer in time a 504: the outcome is
then unknown, and asking again with the same key settles it.
"""

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol
from urllib.parse import quote

from flask import current_app

from shop_common.errors import ApiError
from shop_common.http_client import Reply, ServiceClient, build_client

log = logging.getLogger(__name__)

CAPTURED = "captured"
DECLINED = "declined"
UNKNOWN_METHOD = "unknown_method"


@dataclass(frozen=True)
class ChargeOutcome:
    """What the provider did with a charge: ``captured``, ``declined`` (with a reason) or ``unknown_method``."""

    outcome: str
    reference: str | None = None
    reason: str | None = None
    message: str = ""
    refunded_amount: Decimal = Decimal("0.00")


class PaymentProvider(Protocol):
    def charge(self, key: str, amount: Decimal, currency: str, payment_method: str, order_id: int) -> ChargeOutcome:
        """Charge once per ``key``. :raise 503, 504: the outcome is unknown."""
        ...

    def find_charge(self, key: str) -> ChargeOutcome | None:
        """The charge ``key`` made, or None when the provider made none. :raise 503, 504: not known now."""
        ...

    def refund(self, key: str, reference: str, amount: Decimal) -> None:
        """Refund ``amount`` of the charge ``reference`` once per ``key``. :raise 503, 504: the outcome is unknown."""
        ...


class SandboxProvider:
    """The adapter for the payment sandbox (payment_sandbox/, its API in the README)."""

    def __init__(self, client: ServiceClient, secret_key: str) -> None:
        self.client = client
        self.secret_key = secret_key

    def _call(self, method: str, path: str, key: str | None = None, json: object = None) -> Reply:
        headers = {"Authorization": f"Bearer {self.secret_key}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        response = self.client.request(method, path, json=json, headers=headers, signed=False)
        if response.status >= 500 or response.status in (401, 403, 429):
            log.error("the payment provider answered %s to %s %s", response.status, method, path)
            raise ApiError(503, "The payment provider is unavailable; the payment's outcome is not known yet.")
        return response

    def charge(self, key: str, amount: Decimal, currency: str, payment_method: str, order_id: int) -> ChargeOutcome:
        body = {
            "amount": str(amount),
            "currency": currency,
            "payment_method": payment_method,
            "metadata": {"order_id": str(order_id)},
        }
        response = self._call("POST", "/v1/charges", key, body)
        error = response.json().get("error", {}) if response.status >= 400 else {}
        if response.status == 201:
            return charge_outcome(response.json())
        if response.status == 402:
            return ChargeOutcome(DECLINED, error.get("charge"), error.get("decline_code"), error.get("message", ""))
        if error.get("code") == "resource_missing" and error.get("param") == "payment_method":
            return ChargeOutcome(UNKNOWN_METHOD, message=error.get("message", ""))
        log.error("the payment provider refused a charge: %s %s", response.status, error.get("type"))
        raise ApiError(503, "The payment provider refused the charge request; the payment stays pending.")

    def find_charge(self, key: str) -> ChargeOutcome | None:
        response = self._call("GET", f"/v1/charges?idempotency_key={quote(key, safe='')}")
        if response.status != 200:
            raise ApiError(503, f"The payment provider answered {response.status} to a look-up.")
        charges = response.json()["data"]
        return charge_outcome(charges[0]) if charges else None

    def refund(self, key: str, reference: str, amount: Decimal) -> None:
        response = self._call("POST", "/v1/refunds", key, {"charge": reference, "amount": str(amount)})
        if response.status == 201:
            return
        if response.status == 400 and self._refunded_in_full(reference):
            return  # refunded already, under another key
        log.error("the payment provider refused a refund of %s: %s", reference, response.status)
        raise ApiError(503, "The payment provider refused the refund; it can be asked again.")

    def _refunded_in_full(self, reference: str) -> bool:
        response = self._call("GET", f"/v1/charges/{quote(reference, safe='')}")
        return response.status == 200 and response.json()["refunded"] is True


def charge_outcome(charge: dict) -> ChargeOutcome:
    """A provider's charge object as an outcome: succeeded is captured, failed is declined."""
    if charge["status"] == "succeeded":
        return ChargeOutcome(CAPTURED, charge["id"], refunded_amount=Decimal(charge["amount_refunded"]))
    return ChargeOutcome(DECLINED, charge["id"], charge.get("failure_code"), "The card was declined.")


def payment_provider() -> PaymentProvider:
    """The process-wide adapter, configured by ``PAYMENT_PROVIDER_URL`` and ``PAYMENT_PROVIDER_KEY``."""
    extensions = current_app.extensions
    if "payment_provider" not in extensions:
        config = current_app.config
        client = build_client(config, "provider", "PAYMENT_PROVIDER_URL", "PAYMENT_PROVIDER_TIMEOUT")
        extensions["payment_provider"] = SandboxProvider(client, config["PAYMENT_PROVIDER_KEY"])
    return extensions["payment_provider"]
