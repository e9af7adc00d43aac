"""Container tier (``make container-test``): the image, run by podman, passes the end-to-end tests.

``SHOP_TEST_IMAGE`` names an image built from this checkout (the make target
builds it). ``migrate`` and every service (the payment sandbox too) run as containers on the host's
network (never a container network: the tests talk to loopback addresses only),
on free ports, against this machine's MariaDB with databases of their own. The
containers are named ``shoptest-<pid>-<service>``: this run stops and removes
its own and no other.
"""

import os
import subprocess

import pytest

from shop_common.settings import SERVICES
from tests.stacks import admin_headers, api, service_environment, shop  # noqa: F401 (fixtures)
from tests.support import drop_test_databases, free_port
from tools import stack as launcher

READY_TIMEOUT_SECONDS = 60
DRAIN_SECONDS = 2


def podman(*arguments, check=True):
    answer = subprocess.run(["podman", *arguments], check=False, capture_output=True, text=True)
    if check and answer.returncode != 0:
        raise RuntimeError(f"podman {' '.join(arguments[:2])} failed: {answer.stderr or answer.stdout}")
    return answer


class ContainerStack:
    """The containers, one per service; what tests/e2e's tests use of a stack (urls, gateway, log)."""

    def __init__(self, image, environments, urls):
        self.image, self.environments, self.urls = image, environments, urls
        self.prefix = f"shoptest-{os.getpid()}"

    @property
    def gateway(self):
        return self.urls["gateway"]

    def name(self, service):
        return f"{self.prefix}-{service}"

    def run(self, name, command, environment, detach=True):
        settings = [f"--env={key}={value}" for key, value in environment.items()]
        return podman(
            "run",
            "--detach" if detach else "--rm",
            "--name",
            name,
            "--network",
            "host",
            *settings,
            self.image,
            *command,
        )

    def migrate(self):
        for service in SERVICES:
            if SERVICES[service][2]:
                self.run(
                    self.name(f"migrate-{service}"), ["migrate", service], self.environments[service], detach=False
                )

    def start(self, service):
        self.run(self.name(service), [service], self.environments[service])
        if not launcher.wait_until_ready(
            self.urls[service] + "/health/ready", lambda: self.state(service) == "running", READY_TIMEOUT_SECONDS
        ):
            raise RuntimeError(f"{service} container is {self.state(service)}; its log:\n{self.log(service)[-3000:]}")

    def state(self, service):
        return podman("inspect", "--format", "{{.State.Status}}", self.name(service)).stdout.strip()

    def log(self, service):
        answer = podman("logs", self.name(service), check=False)
        return answer.stdout + answer.stderr

    def remove_all(self):
        names = [self.name(service) for service in SERVICES]
        podman("stop", "--ignore", "--time", "15", *names, check=False)
        podman("rm", "--ignore", "--force", *names, check=False)


@pytest.fixture(scope="session")
def stack():
    image = os.environ.get("SHOP_TEST_IMAGE")
    if not image:
        pytest.fail("SHOP_TEST_IMAGE is not set: run make container-test, which builds the image")
    databases = {database: f"shoptest_{os.getpid()}_ctr_{database}" for _, _, database in SERVICES.values() if database}
    ports = {service: free_port() for service in SERVICES}
    urls = {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}
    # A drain on stop, as on Kubernetes.
    environments = {
        service: service_environment(
            service, ports[service], databases, urls, SHUTDOWN_DRAIN_SECONDS=str(DRAIN_SECONDS)
        )
        for service in SERVICES
    }
    running = ContainerStack(image, environments, urls)
    try:
        running.migrate()
        for service in launcher.START_ORDER:
            running.start(service)
        yield running
    finally:
        running.remove_all()
        drop_test_databases(databases)
