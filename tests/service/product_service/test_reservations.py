"""Stock reservations: all or nothing, idempotent, never below zero, services only."""

import threading
import uuid

import pytest

from product_service import repository
from tests.support import assert_error


@pytest.fixture
def stock_of(client):
    def read(product_id):
        return client.get(f"/api/products/{product_id}").get_json()["stock"]

    return read


@pytest.fixture
def reserve(client, tokens):
    def post(items, reference=None):
        body = {"reference": reference or str(uuid.uuid4()), "items": items}
        return client.post("/internal/reservations", json=body, headers=tokens.service())

    return post


def release(client, tokens, reference):
    return client.post(f"/internal/reservations/{reference}/release", headers=tokens.service())


def test_a_reservation_holds_every_line_and_snapshots_name_and_price(reserve, create_product, stock_of):
    mug, tea = create_product("Mug", "9.50", stock=5), create_product("Tea", "3.25", stock=10)
    response = reserve(
        [{"productId": mug, "quantity": 2}, {"productId": tea, "quantity": 3}, {"productId": mug, "quantity": 1}]
    )
    assert response.status_code == 201
    items = response.get_json()["items"]
    assert items == [
        {"productId": mug, "productName": "Mug", "quantity": 3, "unitPrice": "9.50"},
        {"productId": tea, "productName": "Tea", "quantity": 3, "unitPrice": "3.25"},
    ]
    assert (stock_of(mug), stock_of(tea)) == (2, 7)


def test_not_enough_stock_holds_nothing_and_names_the_product(reserve, create_product, stock_of):
    mug, tea = create_product("Mug", stock=5), create_product("Tea", stock=1)
    response = reserve([{"productId": mug, "quantity": 2}, {"productId": tea, "quantity": 4}])
    body = assert_error(response, 409, "insufficient_stock")
    assert "'Tea'" in body["message"] and "1 available" in body["message"] and "4 requested" in body["message"]
    assert (stock_of(mug), stock_of(tea)) == (5, 1)


def test_the_short_line_is_named_beside_a_line_taking_the_last_unit(reserve, create_product, stock_of):
    """All lines go in one UPDATE; when one is short, the line-by-line pass must name it, not the one emptied."""
    mug, tea = create_product("Mug", stock=1), create_product("Tea", stock=1)
    body = assert_error(reserve([{"productId": mug, "quantity": 1}, {"productId": tea, "quantity": 2}]), 409)
    assert "'Tea'" in body["message"] and "1 available" in body["message"] and "2 requested" in body["message"]
    assert (stock_of(mug), stock_of(tea)) == (1, 1)
    assert reserve([{"productId": mug, "quantity": 1}, {"productId": tea, "quantity": 1}]).status_code == 201
    assert (stock_of(mug), stock_of(tea)) == (0, 0)


def test_a_replayed_reservation_answers_the_lines_as_first_held(reserve, create_product):
    mug, tea = create_product("Mug", "9.50", stock=5), create_product("Tea", "3.25", stock=10)
    items, reference = [{"productId": tea, "quantity": 1}, {"productId": mug, "quantity": 2}], str(uuid.uuid4())
    first = reserve(items, reference)
    assert first.get_json()["items"] == reserve(items, reference).get_json()["items"]
    assert [item["productId"] for item in first.get_json()["items"]] == [mug, tea]


def test_an_unknown_product_holds_nothing(reserve, create_product, stock_of):
    mug = create_product(stock=5)
    assert_error(
        reserve([{"productId": mug, "quantity": 1}, {"productId": mug + 999, "quantity": 1}]), 404, "product_not_found"
    )
    assert stock_of(mug) == 5


def test_a_repeated_reservation_answers_again_without_holding_twice(reserve, create_product, stock_of):
    mug = create_product(stock=5)
    reference = str(uuid.uuid4())
    first = reserve([{"productId": mug, "quantity": 2}], reference)
    again = reserve([{"productId": mug, "quantity": 2}], reference)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["items"] == first.get_json()["items"]
    assert stock_of(mug) == 3


def test_release_gives_the_stock_back_exactly_once(client, tokens, reserve, create_product, stock_of):
    mug = create_product(stock=5)
    reference = reserve([{"productId": mug, "quantity": 4}]).get_json()["reference"]
    assert release(client, tokens, reference).get_json()["released"] is True
    assert release(client, tokens, reference).get_json()["released"] is False
    assert stock_of(mug) == 5


def test_a_release_before_its_reservation_refuses_the_late_reservation(
    client, tokens, reserve, create_product, stock_of
):
    mug = create_product(stock=5)
    reference = str(uuid.uuid4())
    assert release(client, tokens, reference).get_json()["released"] is False
    assert_error(reserve([{"productId": mug, "quantity": 1}], reference), 409, "reservation_released")
    assert stock_of(mug) == 5


def test_reservations_are_for_services_only(client, tokens, create_product):
    body = {"reference": str(uuid.uuid4()), "items": [{"productId": create_product(stock=1), "quantity": 1}]}
    assert_error(client.post("/internal/reservations", json=body), 401)
    assert_error(client.post("/internal/reservations", json=body, headers=tokens.for_user(1)), 403)
    assert_error(client.post("/internal/reservations", json=body, headers=tokens.admin()), 403)
    assert_error(client.post(f"/internal/reservations/{body['reference']}/release", headers=tokens.admin()), 403)


@pytest.mark.parametrize(
    "reference, items, field",
    [
        ("not-a-uuid", [{"productId": 1, "quantity": 1}], "reference"),
        (None, [{"productId": 1, "quantity": 1}], "reference"),
        ("UUID", [], "items"),
        ("UUID", [{"productId": 1, "quantity": 0}], "items[0].quantity"),
        ("UUID", [{"productId": 1, "quantity": "1"}], "items[0].quantity"),
        ("UUID", [{"productId": 1, "quantity": -3}], "items[0].quantity"),
        ("UUID", [{"productId": True, "quantity": 1}], "items[0].productId"),
        ("UUID", [{"productId": 1, "quantity": 6000}, {"productId": 1, "quantity": 6000}], "items"),
        ("UUID", "everything", "items"),
    ],
)
def test_invalid_reservations_are_400(client, tokens, reference, items, field):
    reference = str(uuid.uuid4()) if reference == "UUID" else reference
    response = client.post(
        "/internal/reservations", json={"reference": reference, "items": items}, headers=tokens.service()
    )
    assert field in assert_error(response, 400)["fields"]


def test_concurrent_reservations_never_oversell(app, create_product, stock_of):
    """20 threads race for 10 units through the repository, each on its own pooled connection."""
    mug = create_product(stock=10)
    outcomes = []

    def buy_one():
        with app.app_context():
            try:
                repository.reserve_stock(str(uuid.uuid4()), {mug: 1})
                outcomes.append("held")
            except repository.NotEnoughStock:
                outcomes.append("short")

    threads = [threading.Thread(target=buy_one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["held"] * 10 + ["short"] * 10
    assert stock_of(mug) == 0


MAX_STOCK = 2_147_483_647


def test_a_stock_that_would_leave_no_room_for_held_units_is_a_409(client, tokens, reserve, create_product, stock_of):
    """Stock plus held stays within the column, so the release below can always give back."""
    mug = create_product(stock=MAX_STOCK)
    reference = str(uuid.uuid4())
    assert reserve([{"productId": mug, "quantity": 3}], reference).status_code == 201
    refused = client.put(f"/api/products/{mug}", json={"stock": MAX_STOCK - 2, "price": "1.00"}, headers=tokens.admin())
    assert str(MAX_STOCK - 3) in assert_error(refused, 409, "stock_limit_exceeded")["message"]
    assert stock_of(mug) == MAX_STOCK - 3
    assert client.get(f"/api/products/{mug}").get_json()["price"] == "9.50"
    assert client.put(f"/api/products/{mug}", json={"stock": MAX_STOCK - 3}, headers=tokens.admin()).status_code == 200
    assert release(client, tokens, reference).get_json()["released"] is True
    assert stock_of(mug) == MAX_STOCK


def test_released_units_no_longer_count_against_the_limit(client, tokens, reserve, create_product):
    mug = create_product(stock=10)
    reference = str(uuid.uuid4())
    reserve([{"productId": mug, "quantity": 4}], reference)
    release(client, tokens, reference)
    assert client.put(f"/api/products/{mug}", json={"stock": MAX_STOCK}, headers=tokens.admin()).status_code == 200
