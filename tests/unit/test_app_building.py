"""Building a service's app starts nothing that keeps running and opens no connection.

gunicorn's master builds it (``--preload``) and forks each worker from it: a thread
would not cross the fork, and a connection would be shared by every worker.
"""

import contextlib
import importlib
import os
import subprocess
import sys
import threading

import pytest

from shop_common import lifecycle
from shop_common.settings import PROJECT_ROOT
from tests.support import TEST_JWT_SECRET

PACKAGES = ["api_gateway", "user_service", "customer_service", "product_service", "transaction_service"]
# Not TESTING: the sweepers are registered as in production.
CONFIG = {"JWT_SECRET_KEY": TEST_JWT_SECRET, "DB_NAME": "never_connected", "RATELIMIT_STORAGE_URI": "memory://"}


def open_sockets():
    targets = {}
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(FileNotFoundError):  # the listing's own descriptor, closed by now
            targets[fd] = os.readlink(f"/proc/self/fd/{fd}")
    return {target for target in targets.values() if target.startswith("socket:")}


@pytest.mark.parametrize("package", PACKAGES)
def test_building_an_app_leaves_no_thread_running_and_no_socket_open(package):
    threads, sockets = set(threading.enumerate()), open_sockets()
    importlib.import_module(package).create_app(CONFIG)
    for thread in set(threading.enumerate()) - threads:
        thread.join(timeout=1)  # flask-limiter's in-memory counters start a one-off 10 ms timer
    assert [thread.name for thread in threading.enumerate() if thread not in threads] == []
    assert open_sockets() - sockets == set()


@pytest.mark.parametrize(
    ("package", "sweeper"), [("user_service", "erasure-sweeper"), ("transaction_service", "saga-sweeper")]
)
def test_a_sweeper_waits_for_the_worker(package, sweeper, monkeypatch):
    started = []
    monkeypatch.setattr(threading.Thread, "start", lambda thread: started.append(thread.name))
    app = importlib.import_module(package).create_app(CONFIG)
    assert started == []
    lifecycle.start_worker(app)
    assert started == [sweeper]


def test_the_gateway_loads_no_database_driver():
    """It owns no database: the MySQL driver and the pool would be memory in each of its processes for nothing."""
    script = "import sys, api_gateway; api_gateway.create_app(); print(sorted(m for m in sys.modules if 'mysql' in m))"
    environ = dict(os.environ, JWT_SECRET_KEY=TEST_JWT_SECRET)
    command = [sys.executable, "-c", script]
    loaded = subprocess.run(command, cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
