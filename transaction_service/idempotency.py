"""Idempotency-Key: a retried order answers the first result again instead of ordering twice.

A key is scoped to its caller (``<role>:<user id>``, column ``caller``): two users
may use the same key. It is claimed before the order runs, linked to the order in
the order's first commit, and finished with the response. Only the 201 is stored:
every refusal of an order that passed validation (404 a product or customer, 409
stock, 403 ownership, 400 a total over the maximum) depends on the state of the
shop, not on the body, so it frees the key and a retry runs anew (a product created
meanwhile is found), as after a 5xx. A checkout's payment refused (402, 400) is
stored and answered again; a checkout whose payment is unsettled (503, 504) keeps
its key in progress, linked to its order, until the sweeper has settled it
(checkout.py): a retry meanwhile is 409, and can never charge twice. A key a crash left in progress is settled by
the sweeper from the order it is linked to, or freed. Records live 24 hours.
"""

import hashlib
import json

from flask import Response, current_app

from shop_common.errors import ApiError

from . import repository
from .orders import order_created_body, orders_with_items

MAX_KEY_LENGTH = 255


def key_scope(caller):
    """Whose key it is: the same key from two callers is two keys."""
    return f"{caller.role}:{caller.user_id or ''}"


def request_hash(body):
    """The same for the same JSON whatever its key order or spacing."""
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def create_once(caller, key, body, place_order):
    """The response to an order under ``key``: the first one's again, or ``place_order(idempotency)``'s.

    ``place_order`` takes the ``(scope, key)`` to link to the order and returns the order.

    :raise 400: the key is empty or too long. :raise 422: the key was used with another body.
    :raise 409: the first request with this key is still running.
    """
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ApiError(
            400, f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.", code="invalid_idempotency_key"
        )
    scope, body_hash = key_scope(caller), request_hash(body)
    earlier = repository.claim_idempotency_key(scope, key, body_hash)
    if earlier is not None:
        return _replay(earlier, body_hash)
    try:
        order = place_order((scope, key))
    except ApiError as error:
        _settle_refused(scope, key, error)
        raise
    except BaseException:
        repository.forget_idempotency_key(scope, key)
        raise
    response_body = current_app.json.dumps(order_created_body(order))
    repository.finish_idempotency_key(scope, key, 201, response_body)
    return Response(response_body, status=201, mimetype="application/json")


def _settle_refused(scope, key, error):
    """A refusal: a payment refused (402, 400) is answered again; one whose outcome is unknown keeps the key
    in progress, linked to its order, for the sweeper to settle; any other frees the key."""
    if getattr(error, "keeps_key", False):
        return
    if getattr(error, "replayed", False):
        repository.finish_idempotency_key(scope, key, error.status, current_app.json.dumps(error.body()))
    else:
        repository.forget_idempotency_key(scope, key)


def _replay(earlier, body_hash):
    if earlier["request_hash"] != body_hash:
        raise ApiError(
            422, "This Idempotency-Key was used with a different request body.", code="idempotency_key_reused"
        )
    if earlier["state"] != "done":
        raise ApiError(
            409, "A request with this Idempotency-Key is still being processed.", code="idempotency_key_in_progress"
        )
    response = Response(earlier["response_body"], status=earlier["response_status"], mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def settle_unfinished(older_than_seconds):
    """Finish keys a crash left in progress from their order, or free them; drop expired ones."""
    for record in repository.unfinished_idempotency_keys(older_than_seconds):
        scope, key = record["caller"], record["idempotency_key"]
        order = record["transaction_id"] and repository.find_order(record["transaction_id"])
        if order and order["payment_state"] == "charging":
            continue  # a checkout whose payment is settling: finished once it is paid, or freed once dropped
        if order and order["stock_state"] != "reserving":
            body = order_created_body(orders_with_items([order])[0])
            repository.finish_idempotency_key(scope, key, 201, current_app.json.dumps(body))
        else:
            repository.forget_idempotency_key(scope, key)
    repository.delete_expired_idempotency_keys()
