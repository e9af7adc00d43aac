"""Orders: creation, validation, reads, status moves, deletion and idempotency keys."""

import threading
import time
from decimal import Decimal

import pymysql
import pytest

from product_service import repository as product_repository
from shop_common.db import connect_arguments, get_db
from tests.support import Tokens, app_test_config, assert_error, free_port
from transaction_service import create_app, owners, repository
from transaction_service.idempotency import request_hash


def order(client, customer_id, items, headers, **extra_headers):
    return client.post(
        "/api/transactions", json={"customerId": customer_id, "items": items}, headers={**headers, **extra_headers}
    )


def order_rows(app):
    with app.app_context(), get_db().cursor() as cursor:
        cursor.execute("SELECT COUNT(*) AS n FROM transactions")
        return cursor.fetchone()["n"]


# ----------------------------------------------------------------- creation


def test_an_order_holds_stock_and_totals_exactly(client, buyer, make_product, stock_of):
    customer_id, headers = buyer()
    mug, spoon = make_product(stock=10, price="19.99"), make_product(stock=5, price="0.10", name="Spoon")
    response = order(
        client, customer_id, [{"productId": mug, "quantity": 3}, {"productId": spoon, "quantity": 2}], headers
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["transactionId"] == body["id"] and body["message"]
    assert body["status"] == "pending" and body["customer_id"] == customer_id
    assert body["total_amount"] == "60.17"
    assert [
        (item["product_id"], item["product_name"], item["quantity"], item["price_per_item"]) for item in body["items"]
    ] == [(mug, "Mug", 3, "19.99"), (spoon, "Spoon", 2, "0.10")]
    assert (stock_of(mug), stock_of(spoon)) == (7, 3)


@pytest.mark.parametrize("extra_headers", [{}, {"Idempotency-Key": "as-read"}])
def test_the_201_body_is_the_order_as_a_later_read_shows_it(client, buyer, make_product, extra_headers):
    """The 201 is built from what was written, not read back: it must still be what a GET answers."""
    customer_id, headers = buyer()
    products = [make_product(stock=10, price="19.99", name="Mug"), make_product(stock=10, price="0.10", name="Spoon")]
    items = [
        {"productId": product_id, "quantity": quantity} for product_id, quantity in zip(products, (3, 2), strict=True)
    ]
    created = order(client, customer_id, items, headers, **extra_headers)
    assert created.status_code == 201
    body = created.get_json()
    read = client.get(f"/api/transactions/{body['id']}", headers=headers)
    assert {"message": "Transaction created successfully", "transactionId": body["id"], **read.get_json()} == body
    assert list(body) == ["message", "transactionId", *read.get_json()]
    assert [list(item) for item in body["items"]] == [list(item) for item in read.get_json()["items"]]


def test_item_ids_are_read_back_when_the_server_may_interleave_them(app, client, buyer, make_product):
    """With InnoDB's autoinc lock mode 2 one INSERT's ids need not follow one another: they are read back."""
    customer_id, headers = buyer()
    items = [{"productId": make_product(stock=10), "quantity": 1} for _ in range(3)]
    app.extensions[repository.AUTOINC_STEP] = None
    try:
        body = order(client, customer_id, items, headers).get_json()
    finally:
        del app.extensions[repository.AUTOINC_STEP]
    read = client.get(f"/api/transactions/{body['id']}", headers=headers).get_json()
    assert [item["item_id"] for item in body["items"]] == [item["item_id"] for item in read["items"]]
    following = order(client, customer_id, items, headers).get_json()  # the step is read from the server again
    assert [item["item_id"] for item in following["items"]] == [body["items"][0]["item_id"] + n for n in (3, 4, 5)]


def test_the_same_product_twice_is_merged(client, buyer, make_product, stock_of):
    customer_id, headers = buyer()
    mug = make_product(stock=10)
    body = order(
        client, customer_id, [{"productId": mug, "quantity": 2}, {"productId": mug, "quantity": 3}], headers
    ).get_json()
    assert [(item["product_id"], item["quantity"]) for item in body["items"]] == [(mug, 5)]
    assert stock_of(mug) == 5


def test_not_enough_stock_is_409_and_holds_nothing(client, app, buyer, make_product, stock_of):
    customer_id, headers = buyer()
    mug, tea = make_product(stock=10), make_product(stock=2, name="Tea")
    response = order(
        client, customer_id, [{"productId": mug, "quantity": 1}, {"productId": tea, "quantity": 3}], headers
    )
    message = assert_error(response, 409, "insufficient_stock")["message"]
    assert "Tea" in message and "2 available" in message and "3 requested" in message
    assert (stock_of(mug), stock_of(tea)) == (10, 2)
    assert order_rows(app) == 0


def test_an_unknown_product_or_customer_is_404_and_holds_nothing(client, app, buyer, make_product, stock_of, tokens):
    customer_id, headers = buyer()
    mug = make_product(stock=10)
    assert_error(
        order(
            client,
            customer_id,
            [{"productId": mug, "quantity": 1}, {"productId": mug + 10_000, "quantity": 1}],
            headers,
        ),
        404,
    )
    assert_error(order(client, 99_999_999, [{"productId": mug, "quantity": 1}], tokens.admin()), 404)
    assert stock_of(mug) == 10 and order_rows(app) == 0


def test_nobody_orders_for_another_customer(client, app, buyer, make_product, stock_of):
    alice_customer, _ = buyer()
    _, bob = buyer()
    mug = make_product(stock=10)
    assert_error(order(client, alice_customer, [{"productId": mug, "quantity": 1}], bob), 403)
    assert stock_of(mug) == 10 and order_rows(app) == 0


def test_the_owner_is_asked_of_the_customer_service_once_per_customer(
    client, make_customer, make_product, tokens, monkeypatch
):
    asked = []
    ask = owners.ask_customer_owner
    monkeypatch.setattr(owners, "ask_customer_owner", lambda customer_id: asked.append(customer_id) or ask(customer_id))
    customer_id, headers = make_customer(800_001), tokens.for_user(800_001)  # a customer no other test orders for
    for _ in range(3):
        assert order(client, customer_id, [{"productId": make_product(), "quantity": 1}], headers).status_code == 201
    assert asked == [customer_id]


def test_a_deleted_customer_orders_no_more_though_its_owner_is_known(
    client, app, customer_app, make_customer, make_product, stock_of, tokens
):
    customer_id, headers = make_customer(800_002), tokens.for_user(800_002)
    mug = make_product(stock=10)
    assert order(client, customer_id, [{"productId": mug, "quantity": 1}], headers).status_code == 201
    deleted = customer_app.test_client().delete(f"/api/customers/{customer_id}", headers=headers)
    assert deleted.status_code == 200
    for who in (headers, tokens.admin()):
        assert_error(order(client, customer_id, [{"productId": mug, "quantity": 1}], who), 404)
        refused = order(client, customer_id, [{"productId": mug, "quantity": 1}], who, **{"Idempotency-Key": "gone"})
        assert_error(refused, 404)
    assert stock_of(mug) == 9 and order_rows(app) == 1


def test_only_services_record_a_deleted_customer(client, make_customer, make_product, tokens):
    customer_id, headers = make_customer(800_003), tokens.for_user(800_003)
    for who in (headers, tokens.admin()):
        assert_error(client.put(f"/internal/deleted-customers/{customer_id}", headers=who), 403)
    assert order(client, customer_id, [{"productId": make_product(), "quantity": 1}], headers).status_code == 201
    for _ in range(2):
        assert client.put(f"/internal/deleted-customers/{customer_id}", headers=tokens.service()).status_code == 200
    assert_error(order(client, customer_id, [{"productId": make_product(), "quantity": 1}], headers), 404)


def test_an_admin_orders_for_any_customer(client, buyer, make_product, tokens):
    customer_id, _ = buyer()
    response = order(client, customer_id, [{"productId": make_product(), "quantity": 1}], tokens.admin())
    assert response.status_code == 201


@pytest.mark.parametrize(
    "body, field",
    [
        ({"customerId": "CUSTOMER", "items": [{"productId": "MUG", "quantity": -3}]}, "items[0].quantity"),
        ({"customerId": "CUSTOMER", "items": [{"productId": "MUG", "quantity": "1"}]}, "items[0].quantity"),
        ({"customerId": "CUSTOMER", "items": [{"productId": "MUG", "quantity": 0}]}, "items[0].quantity"),
        ({"customerId": "CUSTOMER", "items": [{"productId": "MUG", "quantity": 10_001}]}, "items[0].quantity"),
        ({"customerId": "CUSTOMER", "items": [{"productId": "MUG", "quantity": 1.5}]}, "items[0].quantity"),
        ({"customerId": "CUSTOMER", "items": [{"productId": "1", "quantity": 1}]}, "items[0].productId"),
        ({"customerId": "CUSTOMER", "items": [{"quantity": 1}]}, "items[0].productId"),
        ({"customerId": "CUSTOMER", "items": ["MUG"]}, "items[0].productId"),
        ({"customerId": "CUSTOMER", "items": []}, "items"),
        ({"customerId": "CUSTOMER", "items": [{"productId": "MUG", "quantity": 1}] * 101}, "items"),
        ({"customerId": "CUSTOMER"}, "items"),
        ({"customerId": "1", "items": [{"productId": "MUG", "quantity": 1}]}, "customerId"),
        ({"items": [{"productId": "MUG", "quantity": 1}]}, "customerId"),
    ],
)
def test_invalid_orders_are_400_and_change_nothing(client, app, buyer, make_product, stock_of, body, field):
    customer_id, headers = buyer()
    mug = make_product(stock=10)
    body = dict(body)
    if body.get("customerId") == "CUSTOMER":
        body["customerId"] = customer_id
    body["items"] = (
        [
            dict(item, productId=mug) if isinstance(item, dict) and item.get("productId") == "MUG" else item
            for item in body.get("items", [])
        ]
        if "items" in body
        else None
    )
    if body["items"] is None:
        del body["items"]
    response = client.post("/api/transactions", json=body, headers=headers)
    assert field in assert_error(response, 400)["fields"]
    assert stock_of(mug) == 10 and order_rows(app) == 0


def test_a_total_over_the_column_maximum_is_refused_and_holds_nothing(client, app, buyer, make_product, stock_of):
    customer_id, headers = buyer()
    gold = make_product(stock=10_000, price="99999999.99", name="Gold")
    assert_error(order(client, customer_id, [{"productId": gold, "quantity": 2}], headers), 400, "total_too_large")
    assert stock_of(gold) == 10_000 and order_rows(app) == 0


def test_a_stopped_product_service_is_503_and_leaves_no_order(unit_databases, service_urls, buyer, make_product):
    down = create_app(
        dict(
            app_test_config(unit_databases["transaction_db"]),
            **dict(service_urls, PRODUCT_SERVICE_URL=f"http://127.0.0.1:{free_port()}"),
        )
    )
    customer_id, headers = buyer()
    response = order(down.test_client(), customer_id, [{"productId": make_product(), "quantity": 1}], headers)
    assert "product service" in assert_error(response, 503, "service_unavailable")["message"]
    # The row waits, invisible, for the product service to confirm nothing is held.
    with down.app_context(), get_db().cursor() as cursor:
        cursor.execute("SELECT status, stock_state FROM transactions")
        assert cursor.fetchall() == [{"status": "pending", "stock_state": "releasing"}]
    assert down.test_client().get("/api/transactions", headers=Tokens(down).admin()).get_json() == []


# -------------------------------------------------------------------- reads


def test_reads_need_no_product_service_and_keep_the_snapshot(client, buyer, make_product, product_app, tokens):
    customer_id, headers = buyer()
    mug = make_product(stock=10, price="5.00")
    transaction_id = order(client, customer_id, [{"productId": mug, "quantity": 2}], headers).get_json()["id"]
    with product_app.app_context():
        product_repository.update_product(mug, {"price": Decimal("7.00"), "name": "Renamed"})
    body = client.get(f"/api/transactions/{transaction_id}", headers=headers).get_json()
    assert body["items"][0]["price_per_item"] == "5.00" and body["items"][0]["product_name"] == "Mug"
    assert body["total_amount"] == "10.00"
    assert set(body) == {"id", "customer_id", "total_amount", "status", "transaction_date", "items"}
    assert set(body["items"][0]) == {"item_id", "product_id", "product_name", "quantity", "price_per_item"}


def test_nobody_reads_another_customers_orders(client, buyer, make_product, tokens):
    alice_customer, alice = buyer()
    _bob_customer, bob = buyer()
    transaction_id = order(client, alice_customer, [{"productId": make_product(), "quantity": 1}], alice).get_json()[
        "id"
    ]
    assert_error(client.get(f"/api/transactions/{transaction_id}", headers=bob), 403)
    assert_error(client.get(f"/api/transactions/customer/{alice_customer}", headers=bob), 403)
    assert client.get(f"/api/transactions/{transaction_id}", headers=tokens.admin()).status_code == 200
    assert_error(client.get("/api/transactions", headers=alice), 403)


def test_a_customer_without_orders_gets_an_empty_list(client, buyer):
    customer_id, headers = buyer()
    response = client.get(f"/api/transactions/customer/{customer_id}", headers=headers)
    assert response.status_code == 200 and response.get_json() == []
    assert response.headers["X-Total-Count"] == "0"


def test_lists_are_newest_first_with_totals(client, buyer, make_product, tokens):
    customer_id, headers = buyer()
    mug = make_product(stock=10)
    ids = [order(client, customer_id, [{"productId": mug, "quantity": 1}], headers).get_json()["id"] for _ in range(3)]
    mine = client.get(f"/api/transactions/customer/{customer_id}?limit=2", headers=headers)
    assert [row["id"] for row in mine.get_json()] == [ids[2], ids[1]]
    assert mine.headers["X-Total-Count"] == "3" and all(row["items"] for row in mine.get_json())
    everything = client.get("/api/transactions", headers=tokens.admin())
    assert everything.headers["X-Total-Count"] == "3"


def test_unknown_ids_are_404(client, tokens):
    assert_error(client.get("/api/transactions/123456789", headers=tokens.admin()), 404)
    assert_error(client.get("/api/transactions/1abc", headers=tokens.admin()), 404)
    assert_error(client.get("/api/transactions/customer/99999999", headers=tokens.admin()), 404)


# ------------------------------------------------------------- status moves


def set_status(client, transaction_id, status, headers):
    return client.put(f"/api/transactions/{transaction_id}/status", json={"status": status}, headers=headers)


@pytest.fixture
def placed(client, buyer, make_product):
    """A pending order of 4 units: (transaction id, product id, owner headers)."""
    customer_id, headers = buyer()
    mug = make_product(stock=10)
    transaction_id = order(client, customer_id, [{"productId": mug, "quantity": 4}], headers).get_json()["id"]
    return transaction_id, mug, headers


def test_the_owner_cancels_a_pending_order_and_gets_the_stock_back(client, placed, stock_of):
    transaction_id, mug, owner = placed
    response = set_status(client, transaction_id, "cancelled", owner)
    assert response.status_code == 200 and response.get_json()["transaction"]["status"] == "cancelled"
    assert stock_of(mug) == 10
    assert_error(set_status(client, transaction_id, "cancelled", owner), 409, "invalid_transition")
    assert stock_of(mug) == 10


def test_the_owner_may_only_cancel_while_pending(client, placed, tokens, stock_of):
    transaction_id, mug, owner = placed
    assert_error(set_status(client, transaction_id, "completed", owner), 403)
    assert set_status(client, transaction_id, "completed", tokens.admin()).status_code == 200
    assert_error(set_status(client, transaction_id, "cancelled", owner), 403)
    assert stock_of(mug) == 6


@pytest.mark.parametrize(
    "path, allowed",
    [
        (["completed"], [True]),
        (["cancelled"], [True]),
        (["completed", "cancelled"], [True, True]),
        (["completed", "pending"], [True, False]),
        (["cancelled", "completed"], [True, False]),
        (["cancelled", "pending"], [True, False]),
        (["pending"], [False]),
        (["completed", "completed"], [True, False]),
    ],
)
def test_transitions(client, placed, tokens, stock_of, path, allowed):
    transaction_id, mug, _ = placed
    for status, ok in zip(path, allowed, strict=True):
        response = set_status(client, transaction_id, status, tokens.admin())
        assert response.status_code == (200 if ok else 409), (status, response.get_json())
    cancelled = "cancelled" in path
    assert stock_of(mug) == (10 if cancelled else 6)


@pytest.mark.parametrize("body", [{"status": "refunded"}, {"status": 1}, {}])
def test_an_unknown_status_is_400(client, placed, tokens, body):
    transaction_id, _, _ = placed
    response = client.put(f"/api/transactions/{transaction_id}/status", json=body, headers=tokens.admin())
    assert_error(response, 400)


@pytest.mark.parametrize("status", ["paid", "shipped"])
def test_an_order_without_payment_is_never_paid_or_shipped(client, placed, tokens, status):
    transaction_id, _, _ = placed
    response = client.put(f"/api/transactions/{transaction_id}/status", json={"status": status}, headers=tokens.admin())
    assert_error(response, 409, "invalid_transition")


def test_racing_cancellations_give_the_stock_back_once(app, placed, tokens, stock_of):
    transaction_id, mug, _ = placed
    statuses = []

    def cancel():
        statuses.append(set_status(app.test_client(), transaction_id, "cancelled", tokens.admin()).status_code)

    threads = [threading.Thread(target=cancel) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 7
    assert stock_of(mug) == 10


# ----------------------------------------------------------------- deletion


def test_deleting_a_pending_order_returns_its_stock(client, placed, tokens, stock_of):
    transaction_id, mug, owner = placed
    assert_error(client.delete(f"/api/transactions/{transaction_id}", headers=owner), 403)
    response = client.delete(f"/api/transactions/{transaction_id}", headers=tokens.admin())
    assert response.status_code == 200 and response.get_json()["transactionId"] == transaction_id
    assert stock_of(mug) == 10
    assert_error(client.get(f"/api/transactions/{transaction_id}", headers=tokens.admin()), 404)


def test_deleting_a_cancelled_order_does_not_return_stock_twice(client, placed, tokens, stock_of):
    transaction_id, mug, owner = placed
    set_status(client, transaction_id, "cancelled", owner)
    assert client.delete(f"/api/transactions/{transaction_id}", headers=tokens.admin()).status_code == 200
    assert stock_of(mug) == 10


# ---------------------------------------------------------- idempotency keys


def test_a_retry_with_the_same_key_answers_the_first_order_again(client, buyer, make_product, stock_of):
    customer_id, headers = buyer()
    mug = make_product(stock=10)
    items = [{"productId": mug, "quantity": 2}]
    first = order(client, customer_id, items, headers, **{"Idempotency-Key": "order-1"})
    again = order(client, customer_id, items, headers, **{"Idempotency-Key": "order-1"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert stock_of(mug) == 8


def test_the_same_key_with_another_body_is_422(client, buyer, make_product, stock_of):
    customer_id, headers = buyer()
    mug = make_product(stock=10)
    order(client, customer_id, [{"productId": mug, "quantity": 2}], headers, **{"Idempotency-Key": "k"})
    response = order(client, customer_id, [{"productId": mug, "quantity": 3}], headers, **{"Idempotency-Key": "k"})
    assert_error(response, 422, "idempotency_key_reused")
    assert stock_of(mug) == 8


def test_keys_are_scoped_to_the_caller(client, buyer, make_product, stock_of):
    mug = make_product(stock=10)
    for _ in range(2):
        customer_id, headers = buyer()
        response = order(
            client, customer_id, [{"productId": mug, "quantity": 1}], headers, **{"Idempotency-Key": "shared-key"}
        )
        assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert stock_of(mug) == 8


def test_a_refusal_is_not_stored_so_the_retry_sees_the_shop_as_it_is(
    client, buyer, make_product, product_app, stock_of
):
    """A 409 (or 404) depends on the stock, not the body: the retry after a restock succeeds."""
    customer_id, headers = buyer()
    mug = make_product(stock=1)
    items = [{"productId": mug, "quantity": 5}]
    refused = order(client, customer_id, items, headers, **{"Idempotency-Key": "big"})
    assert_error(refused, 409, "insufficient_stock")
    with product_app.app_context():
        product_repository.update_product(mug, {"stock": 10})
    retry = order(client, customer_id, items, headers, **{"Idempotency-Key": "big"})
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    replay = order(client, customer_id, items, headers, **{"Idempotency-Key": "big"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == retry.get_json() and stock_of(mug) == 5


def test_a_missing_product_is_not_stored_either(client, buyer, make_product):
    customer_id, headers = buyer()
    absent = make_product() + 1000
    refused = order(client, customer_id, [{"productId": absent, "quantity": 1}], headers, **{"Idempotency-Key": "k"})
    assert_error(refused, 404)
    again = order(client, customer_id, [{"productId": absent, "quantity": 1}], headers, **{"Idempotency-Key": "k"})
    assert_error(again, 404)
    assert "Idempotent-Replayed" not in again.headers


def test_a_key_must_be_1_to_255_characters(client, buyer, make_product):
    customer_id, headers = buyer()
    response = order(
        client, customer_id, [{"productId": make_product(), "quantity": 1}], headers, **{"Idempotency-Key": "k" * 256}
    )
    assert_error(response, 400, "invalid_idempotency_key")


def test_a_key_still_in_progress_is_409(client, app, buyer, make_product, tokens, stock_of):
    customer_id, _ = buyer()
    mug = make_product(stock=10)
    body = {"customerId": customer_id, "items": [{"productId": mug, "quantity": 1}]}
    with app.app_context():
        repository.claim_idempotency_key("admin:999999", "busy", request_hash(body))
    response = client.post("/api/transactions", json=body, headers={**tokens.admin(999999), "Idempotency-Key": "busy"})
    assert_error(response, 409, "idempotency_key_in_progress")
    assert stock_of(mug) == 10


def test_claims_of_one_key_arriving_together_let_exactly_one_in(app):
    """Claimers lined up behind a lock and released at once: one wins, the others see its record.

    A DELETE-then-INSERT claim in one transaction deadlocked here (each held a
    gap lock the others' INSERT waited for) and the order answered 503.
    """
    claimers, results, errors = 4, [], []
    holder = pymysql.connect(**connect_arguments(app.config))
    holder.begin()
    with holder.cursor() as cursor:  # a gap lock where the key would go: every INSERT of it waits
        cursor.execute(
            "SELECT * FROM idempotency_keys WHERE caller = 'customer:1' AND idempotency_key = 'race' FOR UPDATE"
        )

    def claim():
        try:
            with app.app_context():
                results.append(repository.claim_idempotency_key("customer:1", "race", "h" * 64))
        except pymysql.MySQLError as error:
            errors.append(error)

    threads = [threading.Thread(target=claim) for _ in range(claimers)]
    for thread in threads:
        thread.start()
    try:
        with holder.cursor() as cursor:  # until every claimer waits in its INSERT
            for _ in range(100):
                cursor.execute(
                    "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST "
                    "WHERE ID <> CONNECTION_ID() AND INFO LIKE 'INSERT IGNORE INTO idempotency_keys%'"
                )
                if cursor.fetchone()["n"] >= claimers:
                    break
                time.sleep(0.05)
    finally:
        holder.commit()
        holder.close()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results.count(None) == 1
    assert [earlier["state"] for earlier in results if earlier] == ["in_progress"] * (claimers - 1)


def test_a_key_older_than_a_day_starts_afresh(client, app, buyer, make_product, stock_of):
    customer_id, headers = buyer()
    mug = make_product(stock=10)
    order(client, customer_id, [{"productId": mug, "quantity": 2}], headers, **{"Idempotency-Key": "old"})
    with app.app_context(), get_db().cursor() as cursor:
        cursor.execute("UPDATE idempotency_keys SET created_at = created_at - INTERVAL 25 HOUR")
    response = order(client, customer_id, [{"productId": mug, "quantity": 3}], headers, **{"Idempotency-Key": "old"})
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert stock_of(mug) == 5


def test_a_replayed_answer_is_byte_for_byte_the_first(client, buyer, make_product):
    customer_id, headers = buyer()
    items = [{"productId": make_product(), "quantity": 1}]
    first = order(client, customer_id, items, headers, **{"Idempotency-Key": "bytes"})
    again = order(client, customer_id, items, headers, **{"Idempotency-Key": "bytes"})
    plain = order(client, customer_id, items, headers)
    assert again.get_data() == first.get_data()
    assert b'", "' not in first.get_data() and b'", "' not in plain.get_data()
