"""Each service's gunicorn master builds the app (``--preload``) and forks its worker from it.

The master never serves, so it must hold no connection a worker would inherit; a
worker shares the master's memory pages; a worker that dies is forked again and serves.
"""

import os
import re
import signal
import time
from pathlib import Path

import pytest
import requests

from shop_common.settings import SERVICES

ESTABLISHED = "01"  # the state column of /proc/net/tcp
_MEMORY_FIELD = re.compile(r"^(\w+):\s+(\d+) kB$", re.MULTILINE)


def workers(master_pid):
    return [int(pid) for pid in Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()]


def established_sockets(pid):
    """The inodes of ``pid``'s open TCP connections (not its listening sockets)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    connected = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == ESTABLISHED:
                connected.add(fields[9])
    return inodes & connected


def memory(pid):
    """``{field: kB}`` of ``pid``'s smaps_rollup (Rss, Anonymous, Shared_Dirty, ...)."""
    return {name: int(kb) for name, kb in _MEMORY_FIELD.findall(Path(f"/proc/{pid}/smaps_rollup").read_text())}


def test_no_master_holds_a_connection(api, stack):
    """A connection opened in the master (database, Redis, another service) would be shared by every worker."""
    assert api.get("/api/products").status_code == 200
    assert api.get("/health").status_code == 200  # the gateway asks every service, each its database
    for service in SERVICES:
        assert established_sockets(stack.master_pids[service]) == set(), service


@pytest.mark.parametrize("service", ["product", "user"])  # a gevent worker and a gthread one
def test_a_killed_worker_is_forked_again_from_the_master_and_serves(stack, service):
    master = stack.master_pids[service]
    (killed,) = workers(master)
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while workers(master) in ([killed], []):
        assert time.monotonic() < deadline, "no new worker"
        time.sleep(0.1)
    (worker,) = workers(master)
    health = requests.get(stack.urls[service] + "/health", timeout=10)
    assert health.status_code == 200 and health.json()["checks"] == {"database": "ok"}
    # Fresh from the fork: most of what the worker holds is still the master's pages.
    worker_memory = memory(worker)
    assert worker_memory["Shared_Dirty"] > worker_memory["Anonymous"] / 2, worker_memory
