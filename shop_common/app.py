"""The part of every service's app factory that is the same for all five."""

import datetime
import decimal
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import BaseConverter

from . import auth, errors, lifecycle, observability, revocation
from .paths import NormalisedPaths
from .settings import flask_config


class ApiFlask(Flask):
    """Flask, answering an ``OPTIONS`` it routes itself with 204 and ``Allow`` (not an empty 200 page)."""

    def make_default_options_response(self) -> Response:
        response = super().make_default_options_response()
        response.status_code = 204
        response.headers.remove("Content-Type")
        return response


class ApiJSONProvider(DefaultJSONProvider):
    """Money as its exact decimal string (``"19.99"``), times as ISO 8601 in UTC."""

    sort_keys = False
    compact = True

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Compact too when a body is serialised ahead of time (stored idempotent responses)."""
        kwargs.setdefault("separators", (",", ":"))
        return super().dumps(obj, **kwargs)

    @staticmethod
    def default(value: Any) -> Any:
        if isinstance(value, decimal.Decimal):
            return str(value)
        if isinstance(value, datetime.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=datetime.UTC)
            return value.isoformat().replace("+00:00", "Z")
        return DefaultJSONProvider.default(value)


class IdConverter(BaseConverter):
    """``<id:name>``: a positive integer without sign or leading zero; anything else is a 404."""

    regex = r"[1-9][0-9]{0,17}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(int(value))


def create_service_app(
    service: str,
    import_name: str,
    test_config: Mapping[str, Any] | None = None,
    with_health: bool = True,
    blueprints: Iterable[Blueprint] = (),
) -> Flask:
    """A Flask app with settings, JSON errors, request ids, logging, JWT and, if it owns one, a database.

    Every app answers the probes ``GET /health/live`` and ``/health/ready``; ``with_health`` adds the
    standard ``GET /health`` (this process's readiness), the gateway brings its own (every service's).
    ``blueprints`` are the service's routes.
    """
    app = ApiFlask(import_name, static_folder=None)
    app.json = ApiJSONProvider(app)
    app.url_map.converters["id"] = IdConverter
    app.url_map.strict_slashes = False
    # Paths come normalised (NormalisedPaths): no route may answer with a redirect.
    app.url_map.merge_slashes = False
    app.url_map.redirect_defaults = False
    app.wsgi_app = NormalisedPaths(app.wsgi_app)  # type: ignore[method-assign]  # Flask's way to add WSGI middleware
    app.config.from_mapping(flask_config(service))
    if test_config:
        app.config.update(test_config)
    errors.init_app(app)
    observability.init_app(app)
    auth.init_app(app)
    revocation.init_app(app)
    if app.config.get("DB_NAME"):
        from . import db  # only where there is a database: the gateway never loads the MySQL driver

        db.init_app(app)
    lifecycle.init_app(app)
    app.register_blueprint(probes)
    if with_health:
        app.register_blueprint(health)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    return app


# The orchestrator's probes, the same for every process (the gateway's too).
probes = Blueprint("probes", __name__)
health = Blueprint("health", __name__)


@health.get("/health")
@probes.get("/health/ready")
def health_check() -> tuple[Response, int]:
    """Readiness: not stopping, and each check registered in ``app.extensions["readiness"]``
    ({name: function returning True when ready}; the database's ping where the service owns one),
    plus what the service adds (``app.extensions["health_details"]``, a function returning more fields).

    What the service calls is not checked: another service being down is that
    service's readiness, and a call to it is answered 503 naming it, while this
    service keeps serving what does not need it.
    """
    checks = {"process": "draining"} if lifecycle.is_draining() else {}
    for name, ready in current_app.extensions.get("readiness", {}).items():
        checks[name] = "ok" if ready() else "unavailable"
    healthy = all(state == "ok" for state in checks.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        "service": current_app.config["SERVICE_NAME"],
        "checks": checks,
    }
    details = current_app.extensions.get("health_details")
    if details and healthy:
        body.update(details())
    return jsonify(body), 200 if healthy else 503


@probes.get("/health/live")
def liveness() -> Response:
    """The process answers (also while draining): a restart would not help anything else."""
    return jsonify(status="ok", service=current_app.config["SERVICE_NAME"])
