"""App factory of the payment sandbox: shop_common's plumbing, the provider's own error shape."""

from flask import jsonify
from werkzeug.exceptions import HTTPException

from shop_common.app import create_service_app
from shop_common.errors import ApiError

from . import routes
from .ledger import SandboxError


def create_app(test_config=None):
    app = create_service_app("sandbox", __name__, test_config, blueprints=[routes.sandbox])
    app.register_error_handler(SandboxError, provider_error)
    app.register_error_handler(ApiError, lambda error: provider_error(as_provider_error(error)))
    app.register_error_handler(
        HTTPException,
        lambda error: provider_error(SandboxError(error.code, "invalid_request_error", error.description)),
    )
    return app


def provider_error(error):
    response = jsonify(error.body())
    response.status_code = error.status
    return response


def as_provider_error(error):
    """A shop error (a bad body, a field's problem) in the provider's shape, naming the first field at fault."""
    if error.status >= 500:
        return SandboxError(error.status, "api_error", error.message)
    if error.fields:
        name, problem = next(iter(error.fields.items()))
        return SandboxError(400, "invalid_request_error", f"{name} {problem}.", code="parameter_invalid", param=name)
    return SandboxError(error.status, "invalid_request_error", error.message, code=error.code)
