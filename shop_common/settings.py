"""Configuration: every setting declared once, with its type, default and meaning.

Order of precedence, highest first:

1. a real environment variable (so tests and benchmarks can run a second copy
   of the stack on other ports and databases);
2. the service's own ``<service>/.env``;
3. the project-wide ``.env`` at the repository root (the JWT secret, database
   credentials and service URLs that all five share);
4. the defaults declared in :data:`SETTINGS`, which fit a local MySQL/MariaDB as
   XAMPP ships it.

The settings table of docs/operations.md is printed from :data:`SETTINGS` by
``python -m shop_common.settings`` (a test keeps the two the same).
"""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SERVICES = {
    # name: (package, default port, default database)
    "gateway": ("api_gateway", 3000, None),
    "user": ("user_service", 3001, "user_db"),
    "customer": ("customer_service", 3002, "customer_db"),
    "product": ("product_service", 3003, "product_db"),
    "transaction": ("transaction_service", 3004, "transaction_db"),
    "payment": ("payment_service", 3005, "payment_db"),
    # The stand-in for an external payment provider (development and tests): not behind the gateway.
    "sandbox": ("payment_sandbox", 3006, "payment_sandbox_db"),
}
ALL = tuple(SERVICES)
DEFAULT_DATABASES = {service: database for service, (_, _, database) in SERVICES.items() if database}
WITH_DATABASE = tuple(DEFAULT_DATABASES)
GATEWAY = ("gateway",)
# The payment sandbox stands in for a provider in development (make run-all, the tests, compose and
# the Kubernetes dev overlay): no production deployment runs it or migrates its database.
DEVELOPMENT_ONLY = ("sandbox",)
PAYMENT = ("payment",)
SANDBOX = ("sandbox",)

MAX_BODY_BYTES = 1024 * 1024


def flag(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Setting:
    """One setting: its name, default (as a ``.env`` file writes it), meaning, type and readers."""

    name: str
    default: str
    meaning: str
    type: Callable[[str], Any] = str
    services: tuple[str, ...] = ALL
    per_service: Mapping[str, str] = field(default_factory=dict)

    def default_for(self, service: str) -> str:
        return self.per_service.get(service, self.default)


def _read_by(services: tuple[str, ...], *settings: Setting) -> tuple[Setting, ...]:
    """``settings``, each read by ``services``: a group of settings names its readers once."""
    return tuple(replace(setting, services=services) for setting in settings)


SETTINGS = (
    Setting("HOST", "127.0.0.1", "where a service listens"),
    Setting(
        "PORT",
        "",
        "the port a service listens on",
        int,
        per_service={service: str(port) for service, (_, port, _) in SERVICES.items()},
    ),
    *_read_by(
        WITH_DATABASE,
        Setting("DB_HOST", "127.0.0.1", "the MySQL/MariaDB server"),
        Setting("DB_PORT", "3306", "the database server's port", int),
        Setting("DB_USER", "root", "the database user"),
        Setting("DB_PASSWORD", "", "the database user's password"),
        Setting("DB_NAME", "", "the service's database", per_service=DEFAULT_DATABASES),
        Setting("DB_POOL_SIZE", "16", "pooled connections per worker process", int),
        Setting(
            "DB_SSL_CA", "", "a CA file: connections to the database then require TLS, verified with it; empty: no TLS"
        ),
    ),
    *(
        Setting(f"{service.upper()}_SERVICE_URL", f"http://127.0.0.1:{port}", "where services find each other")
        for service, (_, port, _) in SERVICES.items()
        if service not in ("gateway", "sandbox")
    ),
    Setting(
        "JWT_SECRET_KEY",
        "",
        "HS256 secret shared by the shop's processes (the sandbox has its own key); a service refuses to start "
        "without it (`make run-all` creates one)",
    ),
    Setting("ACCESS_TOKEN_TTL_SECONDS", "900", "access token lifetime", int),
    Setting(
        "REFRESH_TOKEN_TTL_SECONDS",
        "1209600",
        "refresh token lifetime (14 days); a refresh gives a new one",
        int,
        ("user",),
    ),
    Setting(
        "REVOCATION_REDIS_URL",
        "redis://127.0.0.1:6379/0",
        "where ended logins and users are kept, checked on every request with a user token (shop_common/revocation.py)",
    ),
    Setting(
        "REVOCATION_KEY_PREFIX", "shop:", "prefix of the revocation keys, so stacks sharing one Redis keep them apart"
    ),
    Setting("SERVICE_CONNECT_TIMEOUT", "1.0", "seconds to connect to another service", float),
    Setting("SERVICE_TIMEOUT", "5.0", "seconds to wait for another service's response", float),
    Setting(
        "GATEWAY_TIMEOUT",
        "20.0",
        "seconds the gateway waits for a service: longer than the chain of "
        "calls behind one request (an order makes up to three), so the service that knows what failed "
        "gives the response",
        float,
        GATEWAY,
    ),
    Setting(
        "CHECKOUT_PAYMENT_TIMEOUT",
        "8.0",
        "seconds a checkout waits for the payment service's answer to a charge or refund: longer than "
        "PAYMENT_PROVIDER_TIMEOUT, so the payment service, which knows what the provider did, answers; "
        "reserve plus charge stay within GATEWAY_TIMEOUT",
        float,
        ("transaction",),
    ),
    Setting("BCRYPT_ROUNDS", "12", "bcrypt cost", int, ("user",)),
    Setting("ADMIN_USERNAME", "", "admin created by `make run-all` if missing", services=("user",)),
    Setting(
        "ADMIN_PASSWORD", "", "the admin's password (random in the `.env` made by `make run-all`)", services=("user",)
    ),
    Setting(
        "ERASURE_SWEEP_SECONDS",
        "5",
        "how often the user service retries erasing a deleted user's "
        "customer profile until the customer service confirms it",
        int,
        ("user",),
    ),
    Setting("LOG_LEVEL", "INFO", "log level"),
    Setting(
        "LOG_FORMAT",
        "text",
        "`json`: one JSON object per log line, for a log collector (docs/operations.md, Observe it)",
    ),
    Setting("METRICS_ENABLED", "true", "`GET /metrics` and the per-request histogram (shop_common/metrics.py)", flag),
    Setting("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128", "who may read `/metrics` (others get 403)"),
    Setting(
        "GUNICORN_WORKER_CLASS",
        "shop_common.gunicorn_worker.PyWSGIWorker",
        "gunicorn worker: gevent's pywsgi for the services that mostly wait on I/O; gunicorn's gthread for "
        "the user service, whose bcrypt would stall a gevent loop (docs/performance.md); both answer "
        "the HTTP server's own refusals in the error shape",
        per_service={"user": "shop_common.thread_worker.ThreadWorker"},
    ),
    Setting(
        "GUNICORN_WORKERS",
        "1",
        "gunicorn worker processes (the gateway: 1 unless rate limits are counted in Redis)",
        int,
    ),
    Setting("GUNICORN_THREADS", "8", "threads of a `gthread` worker", int),
    Setting(
        "GUNICORN_KEEPALIVE",
        "75",
        "seconds an idle keep-alive connection stays open: longer than "
        "any client's idle time, so pooled connections stay usable",
        int,
    ),
    Setting(
        "SHUTDOWN_DRAIN_SECONDS",
        "0",
        "on SIGTERM a worker fails readiness at once and serves on this long "
        "before gunicorn's graceful stop, so a balancer takes it out of rotation first (the replicas, "
        "compose and Kubernetes set 3-5)",
        int,
    ),
    *_read_by(
        GATEWAY,
        Setting("RATELIMIT_ENABLED", "true", "`false` turns rate limits off (benchmarks, `make fuzz`)", flag),
        Setting("RATELIMIT_DEFAULT", "300 per minute", "limit per client on every forwarded route"),
        Setting("RATELIMIT_LOGIN", "10 per minute", "limit per address on login and register"),
        Setting(
            "RATELIMIT_STORAGE_URI",
            "memory://",
            "where counters live (`redis://127.0.0.1:6379` to share them between gateway processes)",
        ),
        Setting(
            "RATELIMIT_KEY_PREFIX",
            "",
            "prefix of every counter's key, so stacks sharing one Redis keep their counts apart",
        ),
    ),
    Setting(
        "SAGA_STALE_SECONDS",
        "30",
        "when a half-way order counts as abandoned (longer than any request can still be working on it)",
        int,
        ("transaction",),
    ),
    Setting("SAGA_SWEEP_SECONDS", "5", "how often the sweeper looks for them", int, ("transaction",)),
    Setting(
        "SAGA_STUCK_SECONDS",
        "120",
        "an order still unsettled after this long counts as stuck (`shop_saga_orders_stuck`, the alert)",
        int,
        ("transaction",),
    ),
    Setting(
        "SAGA_FAILURE_LOG_SECONDS",
        "300",
        "a saga step that keeps failing is logged at most once per "
        "order in this many seconds (the sweeper retries it every round)",
        int,
        ("transaction",),
    ),
    Setting(
        "PAYMENT_PROVIDER_URL",
        "http://127.0.0.1:3006",
        "the payment provider the payment service charges through (the sandbox in development)",
        services=PAYMENT,
    ),
    Setting(
        "PAYMENT_PROVIDER_KEY",
        "sk_test_sandbox",
        "the payment service's secret key at the provider (sent as a bearer token)",
        services=PAYMENT,
    ),
    Setting(
        "PAYMENT_PROVIDER_TIMEOUT",
        "5.0",
        "seconds the payment service waits for the provider's answer; then 504, the payment left pending",
        float,
        PAYMENT,
    ),
    Setting(
        "PAYMENT_STALE_SECONDS",
        "30",
        "when a pending payment counts as abandoned and the sweeper asks the provider about it by its key",
        int,
        PAYMENT,
    ),
    Setting("PAYMENT_SWEEP_SECONDS", "5", "how often the payment service's sweeper looks for them", int, PAYMENT),
    Setting(
        "SANDBOX_SECRET_KEY",
        "sk_test_sandbox",
        "the sandbox's secret key: callers send `Authorization: Bearer <key>`, 401 otherwise",
        services=SANDBOX,
    ),
    Setting("SANDBOX_DELAY_SECONDS", "0", "seconds the sandbox sleeps before handling a call", float, SANDBOX),
    Setting(
        "SANDBOX_FAILURE_RATE",
        "0.0",
        "share of the sandbox's calls answered 500 having done nothing",
        float,
        SANDBOX,
    ),
    Setting(
        "SANDBOX_LATE_RATE",
        "0.0",
        "share of charges and refunds the sandbox records, then answers only after `SANDBOX_LATE_SECONDS`",
        float,
        SANDBOX,
    ),
    Setting(
        "SANDBOX_LATE_SECONDS", "30", "how long a late answer waits (longer than the caller's timeout)", float, SANDBOX
    ),
    Setting(
        "FAULT_CRASH_AT",
        "",
        "tests only: the process exits at this step (shop_common/faults.py: `after_record`, `after_reserve`,"
        " `after_confirm`, `before_charge`, `after_cancel`)",
        services=("transaction",),
    ),
)


def service_defaults(service: str) -> dict[str, str]:
    """``{name: default}`` of every setting ``service`` reads."""
    return {setting.name: setting.default_for(service) for setting in SETTINGS if service in setting.services}


def load_settings(service: str, environ: Mapping[str, str] | None = None, root: Path = PROJECT_ROOT) -> dict[str, str]:
    """Return the raw string settings of ``service`` with the precedence above."""
    package = SERVICES[service][0]
    environ = os.environ if environ is None else environ
    settings = service_defaults(service)
    for env_file in (root / ".env", root / package / ".env"):
        if env_file.exists():
            settings.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    settings.update({k: environ[k] for k in settings if k in environ})
    return settings


def flask_config(service: str, environ: Mapping[str, str] | None = None, root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """Settings typed for ``app.config`` as declared: numbers as numbers, flags as booleans."""
    config: dict[str, Any] = load_settings(service, environ, root)
    for setting in SETTINGS:
        if service in setting.services:
            config[setting.name] = setting.type(config[setting.name])
    config["SERVICE_NAME"] = service
    config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    return config


def markdown_table() -> str:
    """The settings table of docs/operations.md."""
    rows = ["| setting | default | read by | meaning |", "|---|---|---|---|"]
    for setting in SETTINGS:
        readers = "all" if setting.services == ALL else ", ".join(setting.services)
        rows.append(f"| `{setting.name}` | {_default_text(setting)} | {readers} | {setting.meaning} |")
    return "\n".join(rows)


def _default_text(setting: Setting) -> str:
    overrides = ", ".join(f"{service} `{value}`" for service, value in setting.per_service.items())
    if not setting.default:
        return overrides or "empty"
    return f"`{setting.default}`" + (f" ({overrides})" if overrides else "")


if __name__ == "__main__":
    print(markdown_table())
