"""The whole journey of issue 23 in Debian's Chromium, at 1280 px and at 375 px, on a fresh stack
with the payment service and its sandbox: browse, filter, search, add two products, change a
quantity, register, log in, check out with pm_card_visa, see the paid order in "my orders", cancel
it and see it refunded; a declined card shows error-message and keeps the cart; an admin creates a
product and ships an order. Every step photographed and checked by axe-core (conftest.py)."""

import time

from playwright.sync_api import expect

from tests.browser.conftest import log_in, settled
from tests.stacks import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.support import unique_name

PASSWORD = "a-long-password-1"


def browse_and_fill_the_cart(page, steps):
    page.goto("/")
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    steps("catalog")
    page.get_by_test_id("category-filter").select_option("kitchen")
    expect(page.get_by_test_id("product-card")).to_have_count(5)
    page.get_by_test_id("sort-select").select_option("price")
    expect(page.get_by_test_id("product-name").first).to_have_text("Mug blue")
    steps("filtered")
    page.get_by_test_id("product-card").filter(has_text="Mug red").get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("cart-count")).to_have_text("1")

    page.get_by_test_id("category-filter").select_option("")
    settled(page)
    page.get_by_test_id("search-input").fill("poster 1")
    page.get_by_test_id("search-input").press("Enter")
    expect(page.get_by_test_id("product-card")).to_have_count(1)
    steps("searched")
    page.get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("cart-count")).to_have_text("2")

    page.get_by_test_id("cart-link").click()
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
    mug = page.get_by_test_id("cart-line").filter(has_text="Mug red")
    mug.get_by_test_id("line-quantity").fill("2")
    mug.get_by_test_id("line-quantity").press("Tab")
    expect(page.get_by_test_id("cart-total")).to_have_text("$40.00")  # 2 × 9.50 + 21.00
    steps("cart")


def register_log_out_and_log_in(page, steps, username):
    page.get_by_test_id("register-link").click()
    page.get_by_test_id("username-input").fill(username)
    page.get_by_test_id("password-input").fill(PASSWORD)
    steps("register")
    page.get_by_test_id("submit-button").click()
    expect(page.get_by_test_id("logout-button")).to_be_visible()
    expect(page.locator("#main")).not_to_have_attribute("data-page", "/register")
    settled(page)
    # The visitor's cart became the user's, on the server: it is there after logging out and in again.
    page.get_by_test_id("logout-button").click()
    expect(page.get_by_test_id("login-link")).to_be_visible()
    expect(page.get_by_test_id("cart-count")).to_have_text("0")
    log_in(page, username, PASSWORD)
    expect(page.get_by_test_id("cart-count")).to_have_text("3")
    steps("logged-in")


def check_out(page, steps, payment_method, with_profile):
    page.get_by_test_id("cart-link").click()
    page.get_by_test_id("checkout-button").click()
    expect(page.get_by_test_id("place-order")).to_be_visible()
    if with_profile:
        page.get_by_test_id("customer-name-input").fill("Alice Buyer")
        page.get_by_test_id("customer-email-input").fill(f"{unique_name('alice')}@example.com")
    page.get_by_test_id("payment-method").select_option(payment_method)
    steps(f"checkout-{payment_method}")
    page.get_by_test_id("place-order").click()


def see_it_paid_then_cancel_it(page, steps):
    confirmation = page.get_by_test_id("order-confirmation")
    expect(confirmation.get_by_test_id("order-status")).to_have_text("paid")
    order_id = confirmation.get_by_test_id("order-id").inner_text()
    expect(page.get_by_test_id("cart-count")).to_have_text("0")
    steps("confirmation")

    page.get_by_test_id("orders-link").click()
    row = page.get_by_test_id("order-row").filter(has_text=f"Order {order_id}")
    expect(row.get_by_test_id("order-status")).to_have_text("paid")
    steps("my-orders")
    row.get_by_test_id("cancel-order").click()
    expect(row.get_by_test_id("order-status")).to_have_text("cancelled")
    wait_for_text(page, row.get_by_test_id("payment-status"), "refunded")
    expect(row.get_by_test_id("cancel-order")).to_have_count(0)
    steps("cancelled-refunded")


def wait_for_text(page, locator, text, seconds=15):
    """Reload until ``locator`` says ``text``: a refund finished by the sweeper shows on a later read."""
    deadline = time.monotonic() + seconds
    while text not in (locator.all_inner_texts() or [""])[0]:
        assert time.monotonic() < deadline, f"never {text!r}"
        time.sleep(0.5)
        page.reload()
        locator.first.wait_for()


def a_declined_card_keeps_the_cart(page, steps):
    page.goto("/#/?q=novel%203")
    page.get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("cart-count")).to_have_text("1")
    check_out(page, steps, "pm_card_chargeDeclined", with_profile=False)
    expect(page.get_by_test_id("error-message")).to_contain_text("declined")
    expect(page.get_by_test_id("error-message")).to_contain_text("Reason: generic decline.")
    steps("declined")
    page.get_by_test_id("cart-link").click()
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    expect(page.get_by_test_id("line-name")).to_have_text("Novel 3")
    check_out(page, steps, "pm_card_visa", with_profile=False)
    confirmation = page.get_by_test_id("order-confirmation")
    expect(confirmation.get_by_test_id("order-status")).to_have_text("paid")
    return confirmation.get_by_test_id("order-id").inner_text()


def the_admin_creates_a_product_and_ships_the_order(page, steps, order_id):
    page.get_by_test_id("logout-button").click()
    log_in(page, ADMIN_USERNAME, ADMIN_PASSWORD)
    page.get_by_test_id("admin-link").click()
    form = page.get_by_test_id("admin-product-form")
    name = unique_name("Kettle")
    form.get_by_test_id("name-input").fill(name)
    form.get_by_test_id("price-input").fill("31.00")
    form.get_by_test_id("stock-input").fill("4")
    form.get_by_test_id("category-input").fill(name.lower())
    form.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("admin-product-row").filter(has_text=name)).to_be_visible()
    steps("admin-product-created")

    page.get_by_test_id("status-filter").select_option("paid")
    row = page.get_by_test_id("admin-order-row").filter(has_text=f"Order {order_id} ")
    expect(row.get_by_test_id("order-status")).to_have_text("paid")
    steps("admin-orders")
    row.get_by_test_id("status-select").select_option("shipped")
    expect(row).to_have_count(0)  # no longer paid: out of the filtered list
    page.get_by_test_id("status-filter").select_option("shipped")
    expect(page.get_by_test_id("admin-order-row").filter(has_text=f"Order {order_id} ")).to_be_visible()
    shipped = page.get_by_test_id("admin-order-row").filter(has_text=f"Order {order_id} ")
    expect(shipped.get_by_test_id("order-status")).to_have_text("shipped")
    steps("admin-shipped")
    shipped.get_by_test_id("status-select").select_option("completed")
    page.get_by_test_id("status-filter").select_option("completed")
    completed = page.get_by_test_id("admin-order-row").filter(has_text=f"Order {order_id} ")
    expect(completed.get_by_test_id("order-status")).to_have_text("completed")

    page.goto(f"/#/?q={name}")
    expect(page.get_by_test_id("product-card")).to_have_count(1)
    expect(page.get_by_test_id("product-card").get_by_test_id("product-name")).to_have_text(name)
    # Deleted again, so the other browser tests find the catalog they made.
    page.get_by_test_id("admin-link").click()
    page.get_by_test_id("admin-product-row").filter(has_text=name).get_by_test_id("delete-product").click()
    expect(page.get_by_test_id("admin-product-row").filter(has_text=name)).to_have_count(0)


def test_the_whole_journey(page, steps):
    browse_and_fill_the_cart(page, steps)
    register_log_out_and_log_in(page, steps, unique_name("shopper"))
    check_out(page, steps, "pm_card_visa", with_profile=True)
    see_it_paid_then_cancel_it(page, steps)
    order_id = a_declined_card_keeps_the_cart(page, steps)
    the_admin_creates_a_product_and_ships_the_order(page, steps, order_id)
