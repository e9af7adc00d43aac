"""The cart of each user, kept in this service's database beside the orders it becomes.

Why here and not in Redis: checkout turns the cart into an order and empties it in
the same database transaction that marks the order paid, so a cart is emptied
exactly when its checkout was paid, whichever process is killed; and the cart is
as durable as the orders (README, The cart).

A cart keeps product ids and quantities only: name, price and stock are asked of
the product service at each read, so the cart always shows today's price and what
is in stock now; a product deleted since shows ``available: 0`` and no price.
"""

from contextlib import contextmanager
from decimal import Decimal

from shop_common.errors import ApiError
from shop_common.http_client import service_client
from shop_common.validation import MAX_ID

from . import repository

MAX_LINES = 100
MAX_QUANTITY = 10_000


def products_by_id(product_ids):
    """``{id: product}`` of the products among ``product_ids`` that exist, in one call to the product service.

    :raise 503, 504: the product service cannot say.
    """
    # An id past the column's range names no product (the path converter takes any positive integer).
    product_ids = [product_id for product_id in product_ids if product_id <= MAX_ID]
    if not product_ids:
        return {}
    ids = ",".join(str(product_id) for product_id in product_ids)
    products = service_client("product").fetch(f"/internal/products?ids={ids}", "No such products.")["products"]
    return {product["id"]: product for product in products}


def cart_view(user_id):
    """The cart as the API shows it: its lines at today's prices and stock, and their total."""
    lines = repository.cart_lines(user_id)
    products = products_by_id([line["product_id"] for line in lines])
    items = [_item(line, products.get(line["product_id"])) for line in lines]
    total = sum((Decimal(item["lineTotal"]) for item in items if item["lineTotal"] is not None), Decimal("0.00"))
    return {"items": items, "total": f"{total:.2f}"}


def _item(line, product):
    """One line; a product deleted since has no name or price, and nothing available."""
    quantity = line["quantity"]
    if product is None:
        return {
            "productId": line["product_id"],
            "name": None,
            "price": None,
            "quantity": quantity,
            "lineTotal": None,
            "available": 0,
        }
    price = Decimal(product["price"])
    return {
        "productId": product["id"],
        "name": product["name"],
        "price": f"{price:.2f}",
        "quantity": quantity,
        "lineTotal": f"{price * quantity:.2f}",
        "available": product["stock"],
    }


def set_line(user_id, product_id, quantity):
    """Set a line to ``quantity`` (0 removes it).

    :raise 404: no such product (checked only when adding). :raise 409: a 101st line,
        or a checkout of the cart is settling its payment.
    """
    if quantity > 0 and product_id not in products_by_id([product_id]):
        raise ApiError(404, f"Product {product_id} was not found.")
    with cart_unlocked():
        try:
            repository.set_cart_line(user_id, product_id, quantity, MAX_LINES)
        except repository.CartFull:
            raise ApiError(409, f"A cart holds at most {MAX_LINES} lines.", code="cart_full") from None


def empty(user_id):
    """:raise 409: a checkout of the cart is settling its payment."""
    with cart_unlocked():
        repository.empty_cart(user_id)


@contextmanager
def cart_unlocked():
    """Turns :class:`repository.CartLocked` into 409 ``checkout_in_progress``."""
    try:
        yield
    except repository.CartLocked:
        raise ApiError(
            409,
            "A checkout of this cart is still settling its payment; try again shortly.",
            code="checkout_in_progress",
        ) from None
