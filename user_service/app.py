"""App factory of the user service."""

from shop_common.app import create_service_app
from shop_common.periodic import run_every

from . import cli, erasure, routes


def create_app(test_config=None):
    app = create_service_app("user", __name__, test_config, blueprints=[routes.users])
    if app.config["REFRESH_TOKEN_TTL_SECONDS"] < app.config["ACCESS_TOKEN_TTL_SECONDS"]:
        # A password change finds the logins to end by their live refresh tokens (sessions.py):
        # an access token outliving its refresh token would survive it.
        raise RuntimeError("REFRESH_TOKEN_TTL_SECONDS must be at least ACCESS_TOKEN_TTL_SECONDS.")
    cli.init_app(app)
    if app.config["ERASURE_SWEEP_SECONDS"] > 0 and not app.config.get("TESTING"):
        run_every(app, "erasure-sweeper", app.config["ERASURE_SWEEP_SECONDS"], erasure.sweep)
    return app
