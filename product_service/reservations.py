"""Stock reservations: the product service's side of the order saga (services only).

| route | who |
|---|---|
| POST /internal/reservations | services: hold stock for all lines of an order, or none |
| POST /internal/reservations/<reference>/release | services: give it back |

The gateway forwards only ``/api/...``, so customers cannot reach these.
Both calls are idempotent per ``reference``: a repeated reserve answers the
first result (200) without holding twice; a repeated release gives nothing back
twice. A release for a reference never reserved leaves a tombstone, so a
reserve that arrives late (after its order was given up) is refused with 409.
"""

import re

from flask import Blueprint, jsonify

from shop_common.auth import SERVICE, auth_required
from shop_common.errors import ApiError
from shop_common.validation import Fields, json_body, order_lines

from . import business_metrics, repository

reservations = Blueprint("reservations", __name__, url_prefix="/internal/reservations")

REFERENCE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _line_json(line):
    return {
        "productId": line["product_id"],
        "productName": line["product_name"],
        "quantity": line["quantity"],
        "unitPrice": line["unit_price"],
    }


@reservations.post("")
@auth_required(SERVICE)
def reserve():
    """Hold stock for every line under ``reference``, in one database transaction.

    :raise 400: invalid reference or lines. :raise 404: a product does not exist.
    :raise 409: a product has too little stock (nothing is held), or the reference was released.
    """
    body = json_body()
    fields = Fields(body)
    reference = fields.string(
        "reference", min_length=36, max_length=36, pattern=REFERENCE, hint="must be a lowercase UUID"
    )
    lines = order_lines(fields, body.get("items"))
    fields.check()
    try:
        held, replayed = repository.reserve_stock(reference, lines)
    except repository.ProductMissing as missing:
        raise ApiError(404, f"Product {missing.product_id} was not found.", code="product_not_found")
    except repository.NotEnoughStock as short:
        business_metrics.reservation("refused")
        raise ApiError(
            409,
            f"Not enough stock for '{short.name}' (product {short.product_id}): "
            f"{short.available} available, {short.requested} requested.",
            code="insufficient_stock",
        )
    except repository.ReservationReleased:
        raise ApiError(409, f"Reservation {reference} was already released.", code="reservation_released")
    answer = {"reference": reference, "status": "held", "items": [_line_json(line) for line in held]}
    if not replayed:
        business_metrics.reservation("held")
    return jsonify(answer), 200 if replayed else 201


@reservations.post("/<reference>/release")
@auth_required(SERVICE)
def release(reference):
    """Give back the stock held under ``reference``; ``released`` says whether this call did.

    :raise 404: ``reference`` is not a UUID.
    """
    if not REFERENCE.fullmatch(reference):
        raise ApiError(404, "No such reservation.")
    released = repository.release_stock(reference)
    if released:
        business_metrics.reservation("released")
    return jsonify(reference=reference, status="released", released=released)
