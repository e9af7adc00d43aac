"""App factory of the product service."""

from shop_common.app import create_service_app

from . import reservations, routes


def create_app(test_config=None):
    return create_service_app(
        "product",
        __name__,
        test_config,
        blueprints=[routes.products, routes.categories, routes.internal_products, reservations.reservations],
    )
