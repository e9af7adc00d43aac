"""The cart through the gateway against the real processes: every answer, prices read at read time, durability."""

import os
import signal
import time

import pytest

from tests.stacks import Shop, run_concurrently


def assert_error(response, status, code=None):
    """The error shape through the gateway, with this status (and code); its body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["message"], str) and body["message"], body
    assert code is None or body["error"] == code, body
    return body


@pytest.fixture
def shop(stack, admin_headers):
    return Shop(stack, admin_headers)


@pytest.fixture
def buyer(shop):
    """A logged-in user with a customer profile: (customer id, headers)."""
    return shop.new_customer()


def put_line(shop, headers, product_id, quantity):
    return shop.call("PUT", f"/api/cart/items/{product_id}", headers=headers, json={"quantity": quantity})


def test_a_new_cart_is_empty(shop, buyer):
    response = shop.call("GET", "/api/cart", headers=buyer[1])
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "total": "0.00"}


def test_lines_show_todays_price_and_stock_and_the_total(shop, buyer, admin_headers):
    headers = buyer[1]
    mug, pen = shop.create_product(stock=7, price="4.50"), shop.create_product(stock=3, price="1.25")
    assert put_line(shop, headers, mug, 2).status_code == 200
    response = put_line(shop, headers, pen, 4)
    assert response.status_code == 200, response.text
    cart = response.json()
    assert [(item["productId"], item["quantity"], item["price"], item["lineTotal"]) for item in cart["items"]] == [
        (mug, 2, "4.50", "9.00"),
        (pen, 4, "1.25", "5.00"),
    ]
    assert [item["available"] for item in cart["items"]] == [7, 3]
    assert cart["total"] == "14.00"
    shop.call("PUT", f"/api/products/{mug}", headers=admin_headers, json={"price": "5.00", "stock": 1})
    cart = shop.call("GET", "/api/cart", headers=headers).json()
    assert (cart["items"][0]["price"], cart["items"][0]["available"], cart["total"]) == ("5.00", 1, "15.00")


def test_setting_a_line_again_replaces_its_quantity_and_zero_removes_it(shop, buyer):
    headers = buyer[1]
    mug = shop.create_product(stock=5)
    put_line(shop, headers, mug, 2)
    assert put_line(shop, headers, mug, 9).json()["items"][0]["quantity"] == 9
    assert put_line(shop, headers, mug, 0).json() == {"items": [], "total": "0.00"}


def test_removing_a_line_and_emptying_answer_the_cart_even_with_nothing_to_remove(shop, buyer):
    headers = buyer[1]
    mug, pen = shop.create_product(stock=5), shop.create_product(stock=5)
    put_line(shop, headers, mug, 1)
    put_line(shop, headers, pen, 1)
    removed = shop.call("DELETE", f"/api/cart/items/{mug}", headers=headers)
    assert removed.status_code == 200 and [item["productId"] for item in removed.json()["items"]] == [pen]
    again = shop.call("DELETE", f"/api/cart/items/{mug}", headers=headers)
    assert again.status_code == 200 and len(again.json()["items"]) == 1
    for _ in range(2):
        emptied = shop.call("DELETE", "/api/cart", headers=headers)
        assert emptied.status_code == 200 and emptied.json() == {"items": [], "total": "0.00"}


def test_a_product_deleted_since_shows_nothing_available(shop, buyer, admin_headers):
    headers = buyer[1]
    mug = shop.create_product(stock=5)
    put_line(shop, headers, mug, 2)
    assert shop.call("DELETE", f"/api/products/{mug}", headers=admin_headers).status_code == 200
    response = shop.call("GET", "/api/cart", headers=headers)
    assert response.status_code == 200
    (item,) = response.json()["items"]
    assert (item["productId"], item["available"], item["quantity"]) == (mug, 0, 2)
    assert response.json()["total"] == "0.00"


def test_an_unknown_product_is_404_and_changes_nothing(shop, buyer):
    response = put_line(shop, buyer[1], 999_999_999, 1)
    assert_error(response, 404)
    assert shop.call("GET", "/api/cart", headers=buyer[1]).json()["items"] == []


@pytest.mark.parametrize("body", [{"quantity": -1}, {"quantity": 10_001}, {"quantity": "2"}, {"quantity": 1.5}, {}])
def test_a_bad_quantity_is_400_and_changes_nothing(shop, buyer, body):
    mug = shop.create_product(stock=5)
    response = shop.call("PUT", f"/api/cart/items/{mug}", headers=buyer[1], json=body)
    assert_error(response, 400)
    assert shop.call("GET", "/api/cart", headers=buyer[1]).json()["items"] == []


def test_the_largest_quantity_is_taken(shop, buyer):
    mug = shop.create_product(stock=5)
    assert put_line(shop, buyer[1], mug, 10_000).json()["items"][0]["quantity"] == 10_000


def test_a_hundred_and_first_line_is_409_even_when_added_at_once(shop, buyer):
    headers = buyer[1]
    products = [shop.create_product(stock=1) for _ in range(104)]
    for product_id in products[:98]:
        assert put_line(shop, headers, product_id, 1).status_code == 200
    racing = run_concurrently([lambda p=p: put_line(shop, headers, p, 1) for p in products[98:]], workers=6)
    assert sorted(response.status_code for response in racing) == [200, 200, 409, 409, 409, 409]
    assert_error(next(r for r in racing if r.status_code == 409), 409, "cart_full")
    cart = shop.call("GET", "/api/cart", headers=headers).json()
    assert len(cart["items"]) == 100
    assert put_line(shop, headers, products[0], 3).status_code == 200  # a line already there may change


def test_each_user_has_their_own_cart(shop, buyer):
    other = shop.new_customer()
    mug = shop.create_product(stock=5)
    put_line(shop, buyer[1], mug, 1)
    assert shop.call("GET", "/api/cart", headers=other[1]).json()["items"] == []


@pytest.mark.parametrize(
    "method, path",
    [("GET", "/api/cart"), ("PUT", "/api/cart/items/1"), ("DELETE", "/api/cart"), ("POST", "/api/checkout")],
)
def test_the_cart_and_checkout_need_a_login_at_the_gateway(shop, method, path):
    assert_error(shop.call(method, path, json={"quantity": 1}), 401)


def test_the_cart_survives_a_killed_transaction_service(shop, stack, buyer):
    mug = shop.create_product(stock=5)
    put_line(shop, buyer[1], mug, 3)
    os.killpg(int((stack.run_dir / "transaction.pid").read_text()), signal.SIGKILL)
    time.sleep(0.3)
    stack.start("transaction")
    assert shop.call("GET", "/api/cart", headers=buyer[1]).json()["items"][0]["quantity"] == 3


def test_a_product_id_past_the_columns_range_is_404(shop, buyer):
    assert_error(put_line(shop, buyer[1], 2**32, 1), 404)
    assert shop.call("DELETE", f"/api/cart/items/{2**32}", headers=buyer[1]).status_code == 200
