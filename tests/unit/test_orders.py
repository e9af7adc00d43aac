"""The transaction service's rules that need no database: status moves and Idempotency-Key scopes."""

import pytest

from shop_common.auth import ADMIN, CUSTOMER, Caller
from shop_common.errors import ApiError
from transaction_service.idempotency import key_scope, request_hash
from transaction_service.orders import allowed_from

ADMIN_CALLER = Caller(1, ADMIN)
OWNER = Caller(2, CUSTOMER)


@pytest.mark.parametrize(
    "target, expected",
    [
        ("completed", ("pending",)),
        ("cancelled", ("pending", "completed")),
        ("pending", ()),
    ],
)
def test_an_admin_moves_orders_along_the_transitions(target, expected):
    assert allowed_from(ADMIN_CALLER, target, "pending") == expected


def test_an_owner_cancels_only_from_pending():
    assert allowed_from(OWNER, "cancelled", "pending") == ("pending",)


@pytest.mark.parametrize(
    "target, current", [("completed", "pending"), ("cancelled", "completed"), ("pending", "pending")]
)
def test_an_owner_may_not_ask_for_any_other_move(target, current):
    with pytest.raises(ApiError) as error:
        allowed_from(OWNER, target, current)
    assert error.value.status == 403


def test_the_request_hash_ignores_key_order_and_spacing():
    assert request_hash({"customerId": 1, "items": [{"productId": 2, "quantity": 3}]}) == request_hash(
        {"items": [{"quantity": 3, "productId": 2}], "customerId": 1}
    )
    assert request_hash({"customerId": 1}) != request_hash({"customerId": 2})


def test_a_key_is_scoped_to_its_caller():
    assert key_scope(OWNER) == "customer:2"
    assert key_scope(Caller(None, "service")) == "service:"
    assert key_scope(OWNER) != key_scope(Caller(3, CUSTOMER))
