"""App factory of the API gateway."""

from shop_common.app import create_service_app

from . import docs, forwarding_wsgi, proxy, rate_limits, session, status, storefront


def create_app(test_config=None):
    """``/`` and ``/health``, the API reference, the storefront and its login, forwarding behind
    the token check, rate limits; forwarding below Flask (``forwarding_wsgi``).

    The order matters: the token check's before-request hook (``proxy``) must run
    before the limiter's, which counts per caller.
    """
    app = create_service_app("gateway", __name__, test_config, with_health=False)
    status.init_app(app)
    app.register_blueprint(docs.docs)
    app.register_blueprint(storefront.storefront)
    app.register_blueprint(session.session)
    proxy.init_app(app)
    rate_limits.init_app(app)
    forwarding_wsgi.init_app(app)
    return app
