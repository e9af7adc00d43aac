"""App factory of the transaction service."""
import threading
import time

from shop_common.app import create_service_app

from . import business_metrics, cli, routes, saga


def create_app(test_config=None):
    app = create_service_app("transaction", __name__, test_config)
    app.register_blueprint(routes.transactions)
    app.extensions["health_details"] = saga.health_details
    cli.init_app(app)
    business_metrics.init_app(app)
    if app.config["SAGA_SWEEP_SECONDS"] > 0 and not app.config.get("TESTING"):
        start_sweeper(app)
    return app


def start_sweeper(app):
    """A daemon thread that settles half-way orders: once at start, then every SAGA_SWEEP_SECONDS."""
    def run():
        while True:
            with app.app_context():
                try:
                    saga.sweep(app.config["SAGA_STALE_SECONDS"])
                except Exception:  # a failed sweep is logged and tried again next round
                    app.logger.exception("saga sweep failed")
            time.sleep(app.config["SAGA_SWEEP_SECONDS"])

    threading.Thread(target=run, name="saga-sweeper", daemon=True).start()
