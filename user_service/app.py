"""App factory of the user service."""
from shop_common.app import create_service_app

from . import cli, routes


def create_app(test_config=None):
    app = create_service_app("user", __name__, test_config)
    app.register_blueprint(routes.users)
    cli.init_app(app)
    return app
