"""The benchmark's data, made through the gateway as an admin and as customers would.

100 products whose list (``GET /api/products?limit=100``) is about the size of
the original's (~19.5 kB), stock no benchmark can use up, and customers who
each have an account, a profile and a token.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

PRODUCT_COUNT = 100
CUSTOMER_COUNT = 32
STOCK_PER_PRODUCT = 1_000_000
# Each product is in one of these, so a category holds a fifth of the catalog (the filtered page's row).
CATEGORIES = ("kitchen", "books", "garden", "toys", "prints")
CUSTOMER_PASSWORD = "bench-password-1"
# Registering hashes a password with bcrypt: a few at a time keep both cores busy.
REGISTRATIONS_AT_ONCE = 4
REQUEST_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Customer:
    customer_id: int
    username: str
    password: str
    token: str


@dataclass(frozen=True)
class ShopData:
    product_ids: list
    customers: list
    product_list_bytes: int


def seed(gateway, admin_username, admin_password):
    """Create the products and customers; return their ids and tokens.

    :raise RuntimeError: a request did not get the status it should.
    """
    with requests.Session() as session:
        admin_token = _log_in(session, gateway, admin_username, admin_password)
        product_ids = [_create_product(session, gateway, admin_token, number) for number in range(1, PRODUCT_COUNT + 1)]
        product_list = expect(
            session.get(f"{gateway}/api/products?limit={PRODUCT_COUNT}", timeout=REQUEST_TIMEOUT_SECONDS), 200
        )
    with ThreadPoolExecutor(REGISTRATIONS_AT_ONCE) as pool:
        customers = list(pool.map(lambda number: _create_customer(gateway, number), range(1, CUSTOMER_COUNT + 1)))
    return ShopData(product_ids, customers, len(product_list.content))


def _create_product(session, gateway, admin_token, number):
    response = session.post(
        f"{gateway}/api/products",
        timeout=REQUEST_TIMEOUT_SECONDS,
        headers={"Authorization": f"Bearer {admin_token}"},
        json={**product_fields(number), "category": CATEGORIES[number % len(CATEGORIES)]},
    )
    return expect(response, 201).json()["id"]


def product_fields(number):
    """The ``number``-th product's name, description, price and stock, as the original's API takes them too.

    The description is 56 bytes: with its other fields a product is ~195 bytes of the list, as in the original's.
    """
    return {
        "name": f"Bench product {number:03d}",
        "description": f"Bench product {number:03d}: a sturdy everyday item, ships today.",
        "price": f"{number % 50 + 1}.99",
        "stock": STOCK_PER_PRODUCT,
    }


def customer_username(number):
    return f"bench-customer-{number:03d}"


def _create_customer(gateway, number):
    username = customer_username(number)
    with requests.Session() as session:
        user = expect(
            session.post(
                f"{gateway}/api/users/register",
                timeout=REQUEST_TIMEOUT_SECONDS,
                json={"username": username, "password": CUSTOMER_PASSWORD},
            ),
            201,
        ).json()
        token = _log_in(session, gateway, username, CUSTOMER_PASSWORD)
        profile = expect(
            session.post(
                f"{gateway}/api/customers",
                timeout=REQUEST_TIMEOUT_SECONDS,
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "userId": user["userId"],
                    "name": f"Bench Customer {number}",
                    "email": f"{username}@example.com",
                },
            ),
            201,
        ).json()
    return Customer(profile["customerId"], username, CUSTOMER_PASSWORD, token)


def _log_in(session, gateway, username, password):
    response = session.post(
        f"{gateway}/api/users/login", timeout=REQUEST_TIMEOUT_SECONDS, json={"username": username, "password": password}
    )
    return expect(response, 200).json()["access_token"]


def expect(response, status):
    """``response``, when its status is ``status``.

    :raise RuntimeError: it is not.
    """
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.url}: expected {status}, "
            f"got {response.status_code} {response.text[:300]}"
        )
    return response
