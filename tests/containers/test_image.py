"""The image, as containers: the end-to-end journey, the orders race and the Postman collection
through the gateway container, plus what the image promises (non-root, idempotent migrate,
its HEALTHCHECK, a clean stop on SIGTERM).
"""

import threading
import time

import pytest
import requests

from tests.containers.conftest import DRAIN_SECONDS, podman

# The end-to-end tests, collected here against the containers (conftest.py's stack).
from tests.journeys import *  # noqa: F403 (every journey, against this tier's stack)

IMAGE_USER = "10001"


def test_every_container_runs_as_the_image_s_non_root_user(stack):
    assert podman("image", "inspect", "--format", "{{.Config.User}}", stack.image).stdout.strip() == IMAGE_USER
    for service in stack.urls:
        assert podman("exec", stack.name(service), "id", "-u").stdout.strip() == IMAGE_USER


def test_the_image_holds_the_runtime_dependencies_and_no_test_tool(stack):
    installed = podman(
        "run", "--rm", "--network", "host", "--entrypoint", "pip", stack.image, "list", "--format", "freeze"
    ).stdout.lower()
    assert "flask==" in installed and "gunicorn==" in installed and "gevent==" in installed
    assert "pytest" not in installed and "schemathesis" not in installed


def test_gunicorn_is_pid_1_and_the_healthcheck_passes(stack):
    for service in stack.urls:
        command_line = podman("exec", stack.name(service), "cat", "/proc/1/cmdline").stdout
        assert "gunicorn" in command_line and f"shop-{service}" in command_line
        assert podman("healthcheck", "run", stack.name(service), check=False).returncode == 0


def test_migrate_again_changes_nothing(stack, api, admin_headers):
    before = api.get("/api/users", headers=admin_headers).json()
    stack.migrate()
    assert api.get("/api/users", headers=admin_headers).json() == before


@pytest.mark.parametrize("service", ["user", "product"])  # threads and gevent
def test_a_service_stopped_with_sigterm_drains_exits_cleanly_and_starts_again(stack, service):
    """podman stop sends SIGTERM to gunicorn (PID 1): not ready at once, serving through the
    drain, then exit 0 well within podman's grace period (30 s here, as on Kubernetes)."""
    stopping = threading.Thread(target=podman, args=("stop", "--time", "30", stack.name(service)))
    started = time.monotonic()
    stopping.start()
    time.sleep(0.5)
    assert requests.get(stack.urls[service] + "/health/ready", timeout=5).status_code == 503
    assert requests.get(stack.urls[service] + "/health/live", timeout=5).status_code == 200
    stopping.join()
    assert DRAIN_SECONDS <= time.monotonic() - started < 20
    assert podman("inspect", "--format", "{{.State.ExitCode}}", stack.name(service)).stdout.strip() == "0"
    podman("rm", stack.name(service))
    stack.start(service)
