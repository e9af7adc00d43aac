"""Replica tier (``make replicas-test``): two of every service behind HAProxy, two gateways.

Each service runs as two real processes, started by tools/stack.py's launcher
with a run folder each; HAProxy (tests/replicas/haproxy.py) gives every service
one address that balances over its two, and every process finds the others
there, as pods find a Kubernetes Service. The two gateways count rate limits in
Redis under a key prefix of this run. Tests reach the shop through the gateways'
HAProxy frontend, so requests alternate between the two gateways.
"""

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import redis

from shop_common.settings import SERVICES
from tests.replicas import haproxy
from tests.stacks import admin_headers, api, service_environment, shop  # noqa: F401 (fixtures)
from tests.support import create_test_databases, drop_test_databases, free_port
from tools import stack as launcher

REPLICAS = (1, 2)
# Serving after SIGTERM while HAProxy's 300 ms checks take the replica out (a wide margin).
DRAIN_SECONDS = 3
REDIS_URL = "redis://127.0.0.1:6379"


@dataclass
class ReplicaStack:
    environments: dict  # {(service, replica): environment}
    run_dir: object
    urls: dict  # {service: its HAProxy frontend}

    @property
    def gateway(self):
        return self.urls["gateway"]

    def replica_url(self, service, replica):
        return f"http://127.0.0.1:{self.environments[service, replica]['PORT']}"

    def replica_dir(self, service, replica):
        return self.run_dir / f"{service}-{replica}"

    def start(self, service, replica):
        """Start a replica and wait until HAProxy has it in rotation again."""
        environment = self.environments[service, replica]
        launcher.start_service(service, environment, self.replica_dir(service, replica))
        launcher.wait_until_healthy(service, environment, self.replica_dir(service, replica))
        haproxy.wait_for_states(self.run_dir, {f"{service}-{replica}": "UP"})

    def start_extra(self, service, name, **settings):
        """One more process of ``service`` outside HAProxy, on its own port, with these settings; its URL."""
        environment = dict(self.environments[service, REPLICAS[0]], PORT=str(free_port()), **settings)
        self.environments[service, name] = environment
        launcher.start_service(service, environment, self.replica_dir(service, name))
        launcher.wait_until_healthy(service, environment, self.replica_dir(service, name))
        return self.replica_url(service, name)

    def stop(self, service, replica):
        """SIGTERM to the replica's process group, waiting until it has exited."""
        launcher.stop_service(service, self.replica_dir(service, replica))

    def kill(self, service, replica):
        """SIGKILL to the replica's process group: no drain, no cleanup."""
        pid = launcher.running_pid(service, self.replica_dir(service, replica))
        os.killpg(pid, signal.SIGKILL)
        while not _reaped(pid):
            time.sleep(0.05)

    def stop_all(self):
        with ThreadPoolExecutor(max_workers=len(self.environments)) as pool:
            list(pool.map(lambda replica: self.stop(*replica), self.environments))

    def log(self, service):
        return "".join(
            launcher.log_file(self.replica_dir(service, replica), service).read_text(errors="replace")
            for replica in REPLICAS
        )


def _reaped(pid):
    """Whether our child ``pid`` has exited (reaped here, or already by subprocess's clean-up)."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:
        return True


def _replica_environments(databases, frontends, key_prefix):
    """Every process finds the others at their HAProxy frontend."""
    urls = {service: f"http://127.0.0.1:{port}" for service, port in frontends.items()}
    return {
        (service, replica): dict(
            os.environ,
            **service_environment(
                service,
                free_port(),
                databases,
                urls,
                SHUTDOWN_DRAIN_SECONDS=str(DRAIN_SECONDS),
                RATELIMIT_ENABLED="true",
                RATELIMIT_STORAGE_URI=REDIS_URL,
                RATELIMIT_KEY_PREFIX=key_prefix,
                # High enough for the load tests; they show the count is shared, not where it stops.
                RATELIMIT_DEFAULT="100000 per minute",
                RATELIMIT_LOGIN="100000 per minute",
                # Eight processes with a database share MariaDB's connections (151 by default)
                # with whatever else runs on this machine: a small pool each, waited on when busy.
                DB_POOL_SIZE="4",
            ),
        )
        for service in SERVICES
        for replica in REPLICAS
    }


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    databases = create_test_databases("replicas")
    frontends = {service: free_port() for service in SERVICES}
    key_prefix = f"shoptest-{os.getpid()}-replicas"
    running = ReplicaStack(
        _replica_environments(databases, frontends, key_prefix),
        tmp_path_factory.mktemp("replicas"),
        {service: f"http://127.0.0.1:{port}" for service, port in frontends.items()},
    )
    replica_ports = {
        service: [running.environments[service, replica]["PORT"] for replica in REPLICAS] for service in SERVICES
    }
    launcher.bootstrap_admin(running.environments["user", 1], quiet=True)
    config = haproxy.write_config(running.run_dir, frontends, replica_ports)
    with open(running.run_dir / "haproxy.log", "ab") as log:
        balancer = haproxy.start(config, log)
    try:
        for service in launcher.START_ORDER:
            for replica in REPLICAS:
                running.start(service, replica)
        yield running
    finally:
        running.stop_all()
        balancer.terminate()
        balancer.wait(timeout=10)
        drop_test_databases(databases)
        _forget_rate_limit_counters(key_prefix)


def _forget_rate_limit_counters(key_prefix):
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"*{key_prefix}*", count=1000))
    if keys:
        client.delete(*keys)
