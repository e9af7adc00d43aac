"""The transaction service's rules that need no database: Idempotency-Key scopes (status moves: test_lifecycle.py)."""

from shop_common.auth import CUSTOMER, Caller
from transaction_service.idempotency import key_scope, request_hash

OWNER = Caller(2, CUSTOMER)


def test_the_request_hash_ignores_key_order_and_spacing():
    assert request_hash({"customerId": 1, "items": [{"productId": 2, "quantity": 3}]}) == request_hash(
        {"items": [{"quantity": 3, "productId": 2}], "customerId": 1}
    )
    assert request_hash({"customerId": 1}) != request_hash({"customerId": 2})


def test_a_key_is_scoped_to_its_caller():
    assert key_scope(OWNER) == "customer:2"
    assert key_scope(Caller(None, "service")) == "service:"
    assert key_scope(OWNER) != key_scope(Caller(3, CUSTOMER))
