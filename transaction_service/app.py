"""App factory of the transaction service."""

from functools import partial

from flask import jsonify

from shop_common.app import create_service_app
from shop_common.periodic import run_every

from . import business_metrics, checkout, cli, routes, saga


def create_app(test_config=None):
    app = create_service_app(
        "transaction",
        __name__,
        test_config,
        blueprints=[routes.orders, routes.internal, routes.carts, routes.checkouts],
    )
    # A refused payment's answer carries the reason too (the error shape plus "reason").
    app.register_error_handler(checkout.PaymentRefused, lambda error: (jsonify(error.body()), error.status))
    app.extensions["health_details"] = saga.health_details
    cli.init_app(app)
    business_metrics.init_app(app)
    if app.config["SAGA_SWEEP_SECONDS"] > 0 and not app.config.get("TESTING"):
        # Settles half-way orders and payments: once at start, then every SAGA_SWEEP_SECONDS.
        run_every(
            app,
            "saga-sweeper",
            app.config["SAGA_SWEEP_SECONDS"],
            partial(checkout.sweep, app.config["SAGA_STALE_SECONDS"]),
        )
    return app
