"""App factory of the payment service."""

from shop_common.app import create_service_app
from shop_common.periodic import run_every

from . import business_metrics, payments, routes
from .providers import payment_provider


def create_app(test_config=None):
    app = create_service_app("payment", __name__, test_config, blueprints=[routes.internal, routes.public])
    business_metrics.init_app(app)
    if app.config["PAYMENT_SWEEP_SECONDS"] > 0 and not app.config.get("TESTING"):
        # Settles payments left pending from the provider's ledger: once at start, then every PAYMENT_SWEEP_SECONDS.
        run_every(app, "payment-sweeper", app.config["PAYMENT_SWEEP_SECONDS"], lambda: sweep_stale_payments(app))
    return app


def sweep_stale_payments(app):
    return payments.sweep(payment_provider(), app.config["PAYMENT_STALE_SECONDS"])
