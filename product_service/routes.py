"""Routes of the product service: ``/api/products``, the catalog.

| route | who |
|---|---|
| GET /, GET /<id> | anyone |
| POST /, PUT /<id>, DELETE /<id> | admin |
| GET /api/categories | anyone |
| GET /internal/products?ids=1,2 | services: the transaction service pricing a cart |
"""

import re

from flask import Blueprint, Response, jsonify, request

from shop_common.auth import ADMIN, SERVICE, auth_required
from shop_common.errors import ApiError, ValidationError, found
from shop_common.validation import MAX_ID, TEXT_LAYOUT, Fields, json_body, list_response, pagination

from . import repository
from .catalog import MAX_CATEGORY_LENGTH, catalog_filter

products = Blueprint("products", __name__, url_prefix="/api/products")
categories = Blueprint("categories", __name__, url_prefix="/api/categories")
internal_products = Blueprint("internal_products", __name__, url_prefix="/internal/products")

MAX_LOOKUP_IDS = 100
MAX_DESCRIPTION_LENGTH = 10000
MAX_IMAGE_URL_LENGTH = 2048
MAX_STOCK = repository.MAX_STOCK
HTTP_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def _product_columns(body, partial):
    """The checked columns of a product from a request body, keyed by column name.

    On create every field is read: ``name`` and ``price`` are required, ``stock``
    defaults to 0, and ``description``, ``imageUrl`` and ``category`` to null. On a
    partial update only the fields sent are read; ``description``, ``imageUrl`` and
    ``category`` may be null (cleared), ``name``, ``price`` and ``stock`` may not.

    :raise 400: with every invalid field, or, on update, when no field is sent.
    """
    fields = Fields(body, partial)
    columns = {}
    if fields.sent("name"):
        columns["name"] = fields.string("name", max_length=255)
    if fields.sent("description"):
        columns["description"] = fields.string(
            "description", required=False, min_length=0, max_length=MAX_DESCRIPTION_LENGTH, allowed_controls=TEXT_LAYOUT
        )
    if fields.sent("price"):
        columns["price"] = fields.money("price")
    if fields.sent("stock"):
        stock = fields.integer("stock", required=partial, minimum=0, maximum=MAX_STOCK)
        columns["stock"] = 0 if stock is None else stock
    if fields.sent("imageUrl"):
        columns["image_url"] = _image_url(fields)
    if fields.sent("category"):
        columns["category"] = fields.string("category", required=False, max_length=MAX_CATEGORY_LENGTH)
    if not columns:
        fields.add("body", "send at least one of name, description, price, stock, imageUrl, category")
    fields.check()
    return columns


def _image_url(fields):
    return fields.string(
        "imageUrl",
        required=False,
        max_length=MAX_IMAGE_URL_LENGTH,
        pattern=HTTP_URL,
        hint="must be an http:// or https:// URL",
    )


def _product_or_404(product_id):
    return found(repository.find_product(product_id), f"Product {product_id} was not found.")


@products.get("")
def list_products():
    """A page of the catalog: ``q`` (in the name), ``category``, ``minPrice``, ``maxPrice`` and
    ``inStock`` keep products, ``sort`` orders them (newest first unless asked).

    :raise 400: naming each invalid parameter (product_service/catalog.py).
    """
    limit, offset = pagination()
    return list_response(*repository.list_products(limit, offset, catalog_filter(request.args)))


@categories.get("")
def list_categories():
    """The categories products have, by name, each with its number of products, for a catalog's filter."""
    return jsonify(repository.list_categories())


@products.get("/<id:product_id>")
def get_product(product_id):
    """The product as the database wrote its JSON, as a catalog page is.

    :raise 404: no such product.
    """
    product = found(repository.product_json(product_id), f"Product {product_id} was not found.")
    return Response(product, mimetype="application/json")


@products.post("")
@auth_required(ADMIN)
def create_product():
    """Add a product to the catalog.

    :raise 400: invalid fields, or a body that is not a JSON object.
    :raise 415: the body is not JSON.
    """
    columns = _product_columns(json_body(), partial=False)
    product_id = repository.insert_product(**columns)
    product = repository.find_product(product_id)
    return jsonify(message="Product created successfully", productId=product_id, **product), 201


@products.put("/<id:product_id>")
@auth_required(ADMIN)
def update_product(product_id):
    """Change the fields sent; the others stay as they are.

    :raise 400: invalid fields, or none to change.
    :raise 404: no such product.
    :raise 409: the new stock plus what orders hold would pass the stock maximum, which
        would leave a cancelled order's stock with nowhere to go back to (nothing is changed).
    :raise 415: the body is not JSON.
    """
    columns = _product_columns(json_body(), partial=True)
    try:
        repository.update_product(product_id, columns)
    except repository.StockOverLimit as over:
        raise ApiError(
            409,
            f"Orders hold {over.held} of this product, which come back to its stock when "
            f"they are cancelled: the stock can be set to at most {MAX_STOCK - over.held}.",
            code="stock_limit_exceeded",
        ) from None
    # Read back rather than checked first: an unknown id updates nothing and is a 404 here.
    return jsonify(message="Product updated successfully", product=_product_or_404(product_id))


@products.delete("/<id:product_id>")
@auth_required(ADMIN)
def delete_product(product_id):
    """:raise 404: no such product."""
    if not repository.delete_product(product_id):
        raise ApiError(404, f"Product {product_id} was not found.")
    return jsonify(message="Product deleted successfully", productId=product_id)


@internal_products.get("")
@auth_required(SERVICE)
def look_up_products():
    """``{"products": [...]}``: those of ``?ids=`` (comma-separated, at most 100) that exist.

    :raise 400: ids missing, not positive integers, or too many.
    """
    texts = request.args.get("ids", "").split(",")
    if not 1 <= len(texts) <= MAX_LOOKUP_IDS or not all(text.isdigit() and 0 < int(text) <= MAX_ID for text in texts):
        raise ValidationError(
            {"ids": f"must be 1 to {MAX_LOOKUP_IDS} comma-separated product ids"}, "Invalid product ids."
        )
    return jsonify(products=repository.find_products(sorted({int(text) for text in texts})))
