"""App factory of the customer service."""

from shop_common.app import create_service_app

from . import routes


def create_app(test_config=None):
    return create_service_app("customer", __name__, test_config, blueprints=[routes.customers, routes.internal])
