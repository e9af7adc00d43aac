"""SIGTERM under both worker models, run for real: readiness fails at once, serving goes on, then exit."""

import os
import signal
import subprocess
import time

import pytest
import requests

from shop_common.settings import PROJECT_ROOT, load_settings, service_defaults
from tests.support import TEST_JWT_SECRET, free_port
from tools.stack import gunicorn_command, wait_until_ready

DRAIN_SECONDS = 2


@pytest.fixture(params=["shop_common.gunicorn_worker.PyWSGIWorker", "shop_common.thread_worker.ThreadWorker"])
def gateway(request, tmp_path):
    """The gateway (it needs no database) under gunicorn with this worker class; its URL and process."""
    port = free_port()
    environ = dict(os.environ, **service_defaults("gateway"))
    environ.update(
        PORT=str(port),
        JWT_SECRET_KEY=TEST_JWT_SECRET,
        RATELIMIT_ENABLED="false",
        GUNICORN_WORKER_CLASS=request.param,
        SHUTDOWN_DRAIN_SECONDS=str(DRAIN_SECONDS),
    )
    command = gunicorn_command("gateway", load_settings("gateway", environ, root=tmp_path))
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    assert wait_until_ready(url + "/health/live", lambda: process.poll() is None, 20), "gunicorn did not start"
    yield url, process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def test_sigterm_fails_readiness_at_once_serves_through_the_drain_then_exits(gateway):
    url, process = gateway
    with requests.Session() as client:
        assert client.get(url + "/health/ready", timeout=2).status_code == 200
        process.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        time.sleep(0.3)
        ready = client.get(url + "/health/ready", timeout=2)
        assert ready.status_code == 503 and ready.json()["checks"] == {"process": "draining"}
        assert client.get(url + "/health/live", timeout=2).status_code == 200
        # Still serving near the end of the drain, asking clients to go elsewhere.
        time.sleep(DRAIN_SECONDS - 0.8)
        answer = client.get(url + "/", timeout=2)
        assert answer.status_code == 200 and answer.headers["Connection"] == "close"
    process.wait(timeout=DRAIN_SECONDS + 10)
    assert time.monotonic() - stopped_at >= DRAIN_SECONDS
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/health/live", timeout=2)


def test_live_and_ready_answer_200_while_running(gateway):
    url, _ = gateway
    assert requests.get(url + "/health/live", timeout=2).json() == {"status": "ok", "service": "gateway"}
    assert requests.get(url + "/health/ready", timeout=2).json() == {"status": "ok", "service": "gateway", "checks": {}}
