"""A throw-away copy of the shop's services (and the payment sandbox): free ports, databases of its own, settings given.

The end-to-end tests and ``make bench`` each run one beside a developer's stack,
started with the launcher of ``make run-all`` (tools/stack.py). Only the wiring
is fixed here: ports, service URLs, database names and the settings the caller
passes. ``isolated`` gives every declared default explicitly, so a developer's
``.env`` files cannot leak into a test run; without it (the benchmark) the
tuning in ``.env`` counts, as it does for ``make run-all``.
"""

import os
import shutil
import socket
import tempfile
import uuid
from pathlib import Path

from shop_common import schema
from shop_common.settings import SERVICES, service_defaults
from tools import stack as launcher


def service_environment(service, port, databases, service_urls, settings, isolated=True):
    """The settings of one process of ``service`` listening on 127.0.0.1:``port``.

    ``isolated``: every declared default first; then ``settings``; then where the process finds
    the others (``service_urls``) and its database (``databases`` maps default names to its own).
    """
    environment = dict(service_defaults(service)) if isolated else {}
    environment.update(settings, HOST="127.0.0.1", PORT=str(port))
    environment.update(
        {f"{name.upper()}_SERVICE_URL": url for name, url in service_urls.items() if name not in ("gateway", "sandbox")}
    )
    if service == "payment" and "sandbox" in service_urls:
        environment["PAYMENT_PROVIDER_URL"] = service_urls["sandbox"]
    database = SERVICES[service][2]
    if database:
        environment["DB_NAME"] = databases[database]
    return environment


def create_databases(server, databases):
    """Fresh databases of a stack from ``db_init.sql``: ``databases`` maps each default name to its own.

    Any left under those names is dropped first. ``server``: host, port, user, password.
    """
    with schema.server_connection(**server) as connection:
        schema.drop_databases(connection, databases.values())
        schema.apply_schema(connection, databases)


def drop_databases(server, databases):
    with schema.server_connection(**server) as connection:
        schema.drop_databases(connection, databases.values())


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ThrowawayStack:
    """The services of one test session or benchmark run."""

    def __init__(self, databases, settings, isolated=False, service_settings=None):
        """``databases`` maps each default database name to this stack's; ``settings`` apply to all
        of them, ``service_settings`` ({service: settings}) to one.

        Its revocation records are its own too, unless ``settings`` name a prefix: another stack's
        user with the same id must not share a session epoch with this one's (Redis is shared).
        """
        settings = {"REVOCATION_KEY_PREFIX": f"shopstack:{uuid.uuid4().hex[:12]}:", **settings}
        self.ports = {service: free_port() for service in SERVICES}
        self.urls = {service: f"http://127.0.0.1:{port}" for service, port in self.ports.items()}
        self.environments = {service: self._environment(service, databases, settings, isolated) for service in SERVICES}
        for service, overrides in (service_settings or {}).items():
            self.environments[service].update(overrides)
        self.run_dir = Path(tempfile.mkdtemp(prefix="shop-stack-"))
        self.master_pids = {}

    @property
    def gateway(self):
        return self.urls["gateway"]

    def _environment(self, service, databases, settings, isolated):
        environment = {name: value for name, value in os.environ.items() if name != "DB_NAME"}
        environment.update(service_environment(service, self.ports[service], databases, self.urls, settings, isolated))
        return environment

    def bootstrap_admin(self):
        launcher.bootstrap_admin(self.environments["user"], quiet=True)

    def start(self, service):
        """Start ``service`` unless it runs, and wait until it is healthy."""
        self.master_pids[service] = launcher.start_service(service, self.environments[service], self.run_dir)
        launcher.wait_until_healthy(service, self.environments[service], self.run_dir)

    def start_all(self):
        for service in launcher.START_ORDER:
            self.start(service)

    def stop(self, service):
        launcher.stop_service(service, self.run_dir)

    def stop_all(self):
        launcher.stop_services(launcher.START_ORDER, self.run_dir)

    def log(self, service):
        return launcher.log_file(self.run_dir, service).read_text(errors="replace")

    def remove(self):
        """Stop every service and remove the run folder (pid and log files)."""
        self.stop_all()
        shutil.rmtree(self.run_dir, ignore_errors=True)
