"""``LOG_FORMAT=json``: every line a service's processes write is one JSON object, gunicorn's own
included (start, listening, worker boot, a killed worker, the SIGTERM and the shutdown), and no
traceback from a gevent worker's exit. Traces are on (sent nowhere that answers), as the exit's
teardown then holds more that logging must let go of (shop_common/gunicorn_config.py)."""

import json
import os
import signal
import time

import pytest
import requests

from tests.e2e.test_processes import workers
from tests.stacks import SETTINGS
from tests.support import create_test_databases, drop_test_databases, free_port
from tools.throwaway_stack import ThrowawayStack


@pytest.fixture(scope="module")
def databases():
    names = create_test_databases("jsonlog")
    yield names
    drop_test_databases(names)


def wait_for_new_worker(master, killed):
    deadline = time.monotonic() + 20
    while workers(master) in ([killed], []):
        assert time.monotonic() < deadline, "no new worker"
        time.sleep(0.1)


JSON_AND_TRACES = {
    "LOG_FORMAT": "json",
    "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}",
    "OTEL_BSP_SCHEDULE_DELAY": "100",
    "OTEL_TRACES_SAMPLER": "parentbased_always_on",
    # The gateway's rate limiter, in memory, starts timers while the master builds the app.
    "RATELIMIT_ENABLED": "true",
}


@pytest.mark.parametrize("service", ["gateway", "product", "transaction", "user"])  # gevent workers and a gthread one
def test_every_line_of_a_service_run_is_json(databases, service):
    stack = ThrowawayStack(databases, {**SETTINGS, **JSON_AND_TRACES}, isolated=True)
    try:
        if service == "gateway":
            stack.start_all()  # the gateway is healthy once every service it forwards to is
        else:
            stack.start(service)
        assert requests.get(stack.urls[service] + "/health/live", timeout=10).status_code == 200
        master = stack.master_pids[service]
        (killed,) = workers(master)
        os.kill(killed, signal.SIGKILL)
        wait_for_new_worker(master, killed)
        assert requests.get(stack.urls[service] + "/health/live", timeout=10).status_code == 200
        stack.stop(service)
        lines = stack.log(service).splitlines()
    finally:
        stack.remove()
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not JSON: {line!r}\nthe whole log:\n" + "\n".join(lines))
    messages = [entry["message"] for entry in entries if entry["logger"].startswith("gunicorn")]
    for said in ("Starting gunicorn", "Listening at", "Booting worker", f"(pid:{killed})", "Handling signal: term"):
        assert any(said in message for message in messages), (said, messages)
    assert messages[-1].startswith("Shutting down"), messages
    assert all(entry["service"] == service and entry["level"] for entry in entries), entries
