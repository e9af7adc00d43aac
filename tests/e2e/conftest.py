"""End-to-end tier: the five real processes under gunicorn, on free ports, with their own databases.

The stack is started once per test session with the same launcher as
``make run-all`` (tools/stack.py) and stopped at the end, so ``make test``
runs beside a developer's stack and leaves no process behind.
"""
import os
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import requests

from shop_common.settings import COMMON_DEFAULTS, PROJECT_ROOT, SERVICES
from tests.support import DB_SERVER, TEST_JWT_SECRET, create_test_databases, drop_test_databases, free_port
from tools import stack as launcher

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin-password-for-tests"


@dataclass
class Stack:
    environments: dict
    run_dir: object
    urls: dict = field(default_factory=dict)

    @property
    def gateway(self):
        return self.urls["gateway"]

    def start(self, service):
        launcher.start_service(service, self.environments[service], self.run_dir)
        launcher.wait_until_healthy(service, self.environments[service], self.run_dir)

    def stop(self, service):
        launcher.stop_service(service, self.run_dir)

    def log(self, service):
        return launcher.log_file(self.run_dir, service).read_text(errors="replace")


def _environments(databases, ports):
    # Every common setting is given explicitly, so a developer's .env files cannot leak in.
    base = dict(os.environ, **COMMON_DEFAULTS)
    base.update(
        DB_HOST=DB_SERVER["host"], DB_PORT=str(DB_SERVER["port"]),
        DB_USER=DB_SERVER["user"], DB_PASSWORD=DB_SERVER["password"],
        JWT_SECRET_KEY=TEST_JWT_SECRET, BCRYPT_ROUNDS="4",
        ADMIN_USERNAME=ADMIN_USERNAME, ADMIN_PASSWORD=ADMIN_PASSWORD,
        RATELIMIT_ENABLED="false", GUNICORN_WORKERS="1", GUNICORN_THREADS="8",
        SERVICE_TIMEOUT="3.0",
        # Longer than any order request can take with these timeouts (reserve:
        # up to 3 connects + 3 s read), so the sweeper never takes a live order.
        SAGA_STALE_SECONDS="8", SAGA_SWEEP_SECONDS="1",
    )
    for service in SERVICES:
        if service != "gateway":
            base[f"{service.upper()}_SERVICE_URL"] = f"http://127.0.0.1:{ports[service]}"
    environments = {}
    for service, (_, _, database) in SERVICES.items():
        environment = dict(base, PORT=str(ports[service]))
        environment.pop("DB_NAME", None)
        if database:
            environment["DB_NAME"] = databases[database]
        environments[service] = environment
    return environments


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    with started_stack("e2e", tmp_path_factory.mktemp("stack")) as running:
        yield running


@contextmanager
def started_stack(tag, run_dir, settings=None, service_settings=None):
    """The five services on free ports with databases of their own, stopped and dropped after.

    ``settings`` are added to every service's environment, ``service_settings``
    ({service: settings}) to one's.
    """
    databases = create_test_databases(tag)
    ports = {service: free_port() for service in SERVICES}
    environments = _environments(databases, ports)
    for service, environment in environments.items():
        environment.update(settings or {}, **(service_settings or {}).get(service, {}))
    subprocess.run([sys.executable, "-m", "flask", "--app", "user_service", "bootstrap-admin"],
                   cwd=PROJECT_ROOT, env=environments["user"], check=True, capture_output=True)
    running = Stack(environments, run_dir,
                    {service: f"http://127.0.0.1:{port}" for service, port in ports.items()})
    try:
        for service in launcher.START_ORDER:
            running.start(service)
        yield running
    finally:
        launcher.stop_services(launcher.START_ORDER, running.run_dir)
        drop_test_databases(databases)


@pytest.fixture
def api(stack):
    """A requests session whose paths are relative to the gateway."""
    class Api(requests.Session):
        def request(self, method, url, *args, **kwargs):
            kwargs.setdefault("timeout", 10)
            return super().request(method, stack.gateway + url, *args, **kwargs)
    with Api() as session:
        yield session


@pytest.fixture
def admin_headers(api):
    response = api.post("/api/users/login", json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
