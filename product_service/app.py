"""App factory of the product service."""

from shop_common.app import create_service_app

from . import reservations, routes


def create_app(test_config=None):
    app = create_service_app("product", __name__, test_config)
    app.register_blueprint(routes.products)
    app.register_blueprint(routes.categories)
    app.register_blueprint(routes.internal_products)
    app.register_blueprint(reservations.reservations)
    return app
