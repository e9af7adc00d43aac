"""The part of every service's app factory that is the same for all five."""
import datetime
import decimal

from flask import Blueprint, Flask, current_app, jsonify
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import BaseConverter

from . import auth, db, errors, observability
from .settings import flask_config


class ApiJSONProvider(DefaultJSONProvider):
    """Money as its exact decimal string (``"19.99"``), times as ISO 8601 in UTC."""

    sort_keys = False
    compact = True

    def dumps(self, obj, **kwargs):
        """Compact too when a body is serialised ahead of time (stored idempotent answers)."""
        kwargs.setdefault("separators", (",", ":"))
        return super().dumps(obj, **kwargs)

    @staticmethod
    def default(value):
        if isinstance(value, decimal.Decimal):
            return str(value)
        if isinstance(value, datetime.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=datetime.timezone.utc)
            return value.isoformat().replace("+00:00", "Z")
        return DefaultJSONProvider.default(value)


class IdConverter(BaseConverter):
    """``<id:name>``: a positive integer without sign or leading zero; anything else is a 404."""

    regex = r"[1-9][0-9]{0,17}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(int(value))


def create_service_app(service, import_name, test_config=None, with_health=True):
    """A Flask app with settings, JSON errors, request ids, logging, JWT and, if it owns one, a database.

    ``with_health`` adds the standard ``GET /health``; the gateway brings its own.
    """
    app = Flask(import_name, static_folder=None)
    app.json = ApiJSONProvider(app)
    app.url_map.converters["id"] = IdConverter
    app.url_map.strict_slashes = False
    app.config.from_mapping(flask_config(service))
    if test_config:
        app.config.update(test_config)
    errors.init_app(app)
    observability.init_app(app)
    auth.init_app(app)
    if app.config.get("DB_NAME"):
        db.init_app(app)
    if with_health:
        app.register_blueprint(health)
    return app


health = Blueprint("health", __name__)


@health.get("/health")
def health_check():
    """Liveness plus a database ping where the service owns a database."""
    checks = {}
    if current_app.config.get("DB_NAME"):
        checks["database"] = "ok" if db.ping() else "unavailable"
    healthy = all(state == "ok" for state in checks.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        "service": current_app.config["SERVICE_NAME"],
        "checks": checks,
    }
    return jsonify(body), 200 if healthy else 503
