"""Configuration: every setting in one place, read from the environment.

Order of precedence, highest first:

1. a real environment variable (so tests and benchmarks can run a second copy
   of the stack on other ports and databases);
2. the service's own ``<service>/.env``;
3. the project-wide ``.env`` at the repository root (the JWT secret, database
   credentials and service URLs that all five share);
4. the defaults below, which fit a local MySQL/MariaDB as XAMPP ships it.
"""
import os
from pathlib import Path

from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SERVICES = {
    # name: (package, default port, default database)
    "gateway": ("api_gateway", 3000, None),
    "user": ("user_service", 3001, "user_db"),
    "customer": ("customer_service", 3002, "customer_db"),
    "product": ("product_service", 3003, "product_db"),
    "transaction": ("transaction_service", 3004, "transaction_db"),
}

COMMON_DEFAULTS = {
    "HOST": "127.0.0.1",
    "DB_HOST": "127.0.0.1",
    "DB_PORT": "3306",
    "DB_USER": "root",
    "DB_PASSWORD": "",
    "DB_POOL_SIZE": "16",
    "USER_SERVICE_URL": "http://127.0.0.1:3001",
    "CUSTOMER_SERVICE_URL": "http://127.0.0.1:3002",
    "PRODUCT_SERVICE_URL": "http://127.0.0.1:3003",
    "TRANSACTION_SERVICE_URL": "http://127.0.0.1:3004",
    "JWT_SECRET_KEY": "",
    "ACCESS_TOKEN_TTL_SECONDS": "3600",
    "SERVICE_CONNECT_TIMEOUT": "1.0",
    "SERVICE_TIMEOUT": "5.0",
    # How long the gateway waits for a service's answer: longer than the chain of
    # calls behind one request (an order makes up to three, SERVICE_TIMEOUT each),
    # so the service that knows what failed gives the answer.
    "GATEWAY_TIMEOUT": "20.0",
    "BCRYPT_ROUNDS": "12",
    "ADMIN_USERNAME": "",
    "ADMIN_PASSWORD": "",
    "LOG_LEVEL": "INFO",
    # "json": one JSON object per log line, for a log collector (README, Observe it).
    "LOG_FORMAT": "text",
    # GET /metrics and the per-request histogram (shop_common/metrics.py); who may read it.
    "METRICS_ENABLED": "true",
    "METRICS_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
    # Services spend most of a request waiting on MySQL or another service: one
    # gevent process serves many requests at once on one thread, and on 2 cores one
    # process per service beats two (less switching, and ~40 MiB less each; README,
    # Performance). GUNICORN_THREADS counts for gthread only.
    "GUNICORN_WORKER_CLASS": "shop_common.gunicorn_worker.PyWSGIWorker",
    "GUNICORN_WORKERS": "1",
    "GUNICORN_THREADS": "8",
    "RATELIMIT_ENABLED": "true",
    "RATELIMIT_DEFAULT": "300 per minute",
    "RATELIMIT_LOGIN": "10 per minute",
    "RATELIMIT_STORAGE_URI": "memory://",
    # Prepended to every counter's key, so stacks sharing one Redis keep their counts apart.
    "RATELIMIT_KEY_PREFIX": "",
}

# Settings only one service reads.
SERVICE_ONLY_DEFAULTS = {
    "gateway": {
        # One process, so memory:// rate-limit counters hold for the whole
        # gateway (see api_gateway/rate_limits.py); it mostly waits on services.
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "16",
    },
    "user": {
        # bcrypt holds its thread ~0.2 s per hash: under gevent that would stall
        # every other request of the process; threads run it beside the rest (it
        # lets go of the GIL, so one process's threads hash on both cores).
        "GUNICORN_WORKER_CLASS": "gthread",
    },
    "transaction": {
        # An order still reserving or releasing stock after this long was left
        # by a crash or a lost call; the sweeper finishes it.
        "SAGA_STALE_SECONDS": "30",
        "SAGA_SWEEP_SECONDS": "5",
        # Fault injection for tests: the process exits at this saga step
        # (after_record, after_reserve, after_confirm). Empty in real use.
        "FAULT_CRASH_AT": "",
        # An order still unsettled after this long counts as stuck (shop_saga_orders_stuck).
        "SAGA_STUCK_SECONDS": "120",
    },
}

MAX_BODY_BYTES = 1024 * 1024


def service_defaults(service):
    """The defaults of one service: the common ones plus its port and database."""
    package, port, database = SERVICES[service]
    defaults = dict(COMMON_DEFAULTS, PORT=str(port), **SERVICE_ONLY_DEFAULTS.get(service, {}))
    if database:
        defaults["DB_NAME"] = database
    return defaults


def load_settings(service, environ=None, root=PROJECT_ROOT):
    """Return the raw string settings of ``service`` with the precedence above."""
    package = SERVICES[service][0]
    environ = os.environ if environ is None else environ
    settings = service_defaults(service)
    for env_file in (root / ".env", root / package / ".env"):
        if env_file.exists():
            settings.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    settings.update({k: environ[k] for k in settings if k in environ})
    return settings


def flask_config(service, environ=None):
    """Settings typed for ``app.config``: numbers as numbers, flags as booleans."""
    raw = load_settings(service, environ)
    config = dict(raw)
    for key in ("PORT", "DB_PORT", "DB_POOL_SIZE", "ACCESS_TOKEN_TTL_SECONDS", "BCRYPT_ROUNDS",
                "SAGA_STALE_SECONDS", "SAGA_SWEEP_SECONDS", "SAGA_STUCK_SECONDS", "GUNICORN_WORKERS", "GUNICORN_THREADS"):
        if key in config:
            config[key] = int(config[key])
    for key in ("SERVICE_CONNECT_TIMEOUT", "SERVICE_TIMEOUT", "GATEWAY_TIMEOUT"):
        config[key] = float(config[key])
    config["RATELIMIT_ENABLED"] = raw["RATELIMIT_ENABLED"].strip().lower() in ("1", "true", "yes", "on")
    config["METRICS_ENABLED"] = raw["METRICS_ENABLED"].strip().lower() in ("1", "true", "yes", "on")
    config["SERVICE_NAME"] = service
    config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    return config
