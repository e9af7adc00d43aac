"""The storefront in Debian's Chromium, at a desktop size and at 375 px: the catalog (filter, sort,
search, pages), a visitor's cart, tokens as a browser client should hold them, and the admin's
product console. The whole journey through checkout, refund and shipping: test_journey.py."""

import re
import time

from playwright.sync_api import expect

from tests.browser.conftest import ACCESS_TOKEN_TTL_SECONDS, CATALOG, log_in, prices, register
from tests.stacks import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.support import unique_name


def open_storefront(page):
    page.goto("/")
    expect(page.get_by_test_id("product-card").first).to_be_visible()


def test_browse_filter_sort_search_and_page_the_catalog(page, steps):
    open_storefront(page)
    expect(page.get_by_test_id("product-card")).to_have_count(12)
    steps("catalog")

    page.get_by_test_id("next-page").click()
    expect(page.get_by_test_id("product-card")).to_have_count(len(CATALOG) - 12)
    expect(page.get_by_test_id("next-page")).to_be_disabled()
    steps("second-page")

    page.get_by_test_id("category-filter").select_option("books")
    expect(page.get_by_test_id("product-card")).to_have_count(6)
    expect(page.get_by_test_id("product-name").first).to_contain_text("Novel")
    page.get_by_test_id("sort-select").select_option("price")
    expect(page.get_by_test_id("product-name").first).to_have_text("Novel 1")
    assert prices(page) == sorted(prices(page))
    steps("books-by-price")

    page.get_by_test_id("sort-select").select_option("-price")
    expect(page.get_by_test_id("product-name").first).to_have_text("Novel 6")
    assert prices(page) == sorted(prices(page), reverse=True)

    page.get_by_test_id("category-filter").select_option("")
    expect(page.get_by_test_id("product-card")).to_have_count(12)
    page.get_by_test_id("search-input").fill("mug")
    page.get_by_test_id("search-input").press("Enter")
    expect(page.get_by_test_id("product-card")).to_have_count(4)
    for name in page.get_by_test_id("product-name").all_inner_texts():
        assert "mug" in name.lower()
    steps("search")


def test_a_visitor_fills_a_cart_changes_a_quantity_and_removes_a_line(page, steps, catalog):
    open_storefront(page)
    page.get_by_test_id("search-input").fill("Mug blue")
    page.get_by_test_id("search-input").press("Enter")
    expect(page.get_by_test_id("product-card")).to_have_count(1)
    page.get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("cart-count")).to_have_text("1")

    page.get_by_test_id("product-name").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mug blue")
    steps("product-page")
    page.goto("/#/product/" + str(catalog["Novel 2"]["id"]))
    expect(page.get_by_role("heading", level=1)).to_have_text("Novel 2")
    page.get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("cart-count")).to_have_text("2")

    page.get_by_test_id("cart-link").click()
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
    expect(page.get_by_test_id("cart-total")).to_have_text("$21.49")  # 8.50 + 12.99
    steps("cart")
    novel = page.get_by_test_id("cart-line").filter(has_text="Novel 2")
    novel.get_by_test_id("line-quantity").fill("3")
    novel.get_by_test_id("line-quantity").press("Tab")
    expect(page.get_by_test_id("cart-total")).to_have_text("$47.47")  # 8.50 + 3 × 12.99
    expect(page.get_by_test_id("cart-count")).to_have_text("4")
    page.get_by_test_id("cart-line").filter(has_text="Mug blue").get_by_test_id("line-remove").click()
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    expect(page.get_by_test_id("cart-total")).to_have_text("$38.97")
    steps("cart-changed")

    stored = page.evaluate("JSON.parse(localStorage.getItem('shop.cart'))")
    assert stored == [{"productId": catalog["Novel 2"]["id"], "quantity": 3}]


def test_tokens_stay_out_of_scripts_reach_renewed_and_end_at_logout(page, steps, stack):
    open_storefront(page)
    username, password = unique_name("browser"), "a-long-password-1"
    register(page, username, password)
    steps("registered")

    storage = page.evaluate("JSON.stringify([localStorage, sessionStorage])")
    assert "eyJ" not in storage, "a token in the page's storage"
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    refresh = cookies["shop_refresh"]
    assert refresh["httpOnly"] and refresh["sameSite"] == "Strict" and refresh["path"] == "/api/session"
    assert "shop_refresh" not in page.evaluate("document.cookie")

    # Past the access token's lifetime the page has renewed it: the orders page still loads.
    time.sleep(ACCESS_TOKEN_TTL_SECONDS + 2)
    page.get_by_test_id("orders-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My orders")
    expect(page.get_by_test_id("error-message")).to_be_hidden()
    assert page.context.cookies()[0]["value"] != refresh["value"] or len(page.context.cookies()) > 1

    page.reload()
    expect(page.get_by_test_id("logout-button")).to_be_visible()  # the cookie's login, after a reload
    page.get_by_test_id("logout-button").click()
    expect(page.get_by_test_id("login-link")).to_be_visible()
    page.reload()
    expect(page.get_by_test_id("login-link")).to_be_visible()
    assert "shop_refresh" not in {cookie["name"] for cookie in page.context.cookies()}
    steps("logged-out")

    # The refresh token the cookie held was ended with the login, not just forgotten by the browser.
    spent = page.request.post(stack.gateway + "/api/users/refresh", data={"refreshToken": refresh["value"]})
    assert spent.status == 401


def test_a_wrong_password_shows_the_apis_message(page, steps):
    open_storefront(page)
    page.get_by_test_id("login-link").click()
    page.get_by_test_id("username-input").fill(ADMIN_USERNAME)
    page.get_by_test_id("password-input").fill("not-the-password")
    page.get_by_test_id("submit-button").click()
    expect(page.get_by_test_id("error-message")).to_have_text("Invalid username or password.")
    steps("login-refused")


def test_the_admin_creates_edits_and_deletes_a_product(page, steps):
    open_storefront(page)
    expect(page.get_by_test_id("admin-link")).to_be_hidden()
    log_in(page, ADMIN_USERNAME, ADMIN_PASSWORD)
    page.get_by_test_id("admin-link").click()
    form = page.get_by_test_id("admin-product-form")
    expect(form).to_be_visible()
    steps("admin")

    name = unique_name("Lamp")
    form.get_by_test_id("name-input").fill(name)
    form.get_by_test_id("price-input").fill("12.345")
    form.get_by_test_id("stock-input").fill("7")
    form.get_by_test_id("category-input").fill("lighting")
    form.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("error-message")).to_contain_text("price must be ASCII digits with at most two decimals")
    steps("admin-refused")

    form.get_by_test_id("price-input").fill("12.35")
    form.get_by_test_id("save-button").click()
    row = page.get_by_test_id("admin-product-row").filter(has_text=name)
    expect(row).to_contain_text("$12.35")
    expect(row).to_contain_text("stock 7")

    row.get_by_test_id("edit-product").click()
    expect(form.get_by_test_id("name-input")).to_have_value(name)
    form.get_by_test_id("stock-input").fill("3")
    form.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("admin-product-row").filter(has_text=name)).to_contain_text("stock 3")
    steps("admin-edited")

    page.goto("/#/?category=lighting")
    expect(page.get_by_test_id("product-card")).to_have_count(1)
    expect(page.get_by_test_id("product-name")).to_have_text(name)
    expect(page.get_by_test_id("category-filter")).to_have_value("lighting")

    page.get_by_test_id("admin-link").click()
    page.get_by_test_id("admin-product-row").filter(has_text=name).get_by_test_id("delete-product").click()
    expect(page.get_by_test_id("admin-product-row").filter(has_text=name)).to_have_count(0)
    assert re.search(r"#/admin", page.url)
