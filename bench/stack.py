"""A throw-away copy of the five services for the benchmark: free ports, its own databases.

It is started with the launcher of ``make run-all`` (tools/stack.py), so it runs
beside a developer's stack. Only the wiring is fixed here: ports, database names
(``bench_<pid>_<default name>``, ``bench_<pid>_<n>_<default name>`` for the n-th further stack
of a process), a fresh JWT secret and admin, and rate limits
off. The tuning (``TUNING_SETTINGS``) is read as ``make run-all`` reads it: the
environment, then the ``.env`` files, then the defaults; so it can be changed
without touching the benchmark.
"""

import itertools
import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass

from shop_common.settings import SERVICES, load_settings
from tools import stack as launcher
from tools.throwaway_stack import ThrowawayStack, create_databases, drop_databases

from . import processes

TUNING_SETTINGS = (
    "GUNICORN_WORKER_CLASS",
    "GUNICORN_WORKERS",
    "GUNICORN_THREADS",
    "DB_POOL_SIZE",
    "BCRYPT_ROUNDS",
    "LOG_LEVEL",
)
ADMIN_USERNAME = "bench-admin"
_STACK_NUMBERS = itertools.count()
# The servers beside the services whose CPU a request also costs: {name in the report: process name}.
SERVERS = {"MariaDB": "mariadbd", "Redis": "redis-server"}


@dataclass(frozen=True)
class ProcessMemory:
    """One process of a service (``role``: its gunicorn ``master`` or a ``worker``), RSS and PSS in bytes."""

    service: str
    role: str
    rss: int
    pss: int


class BenchStack(ThrowawayStack):
    """The five services of one benchmark run, and what it needs to know about them."""

    def __init__(self, **settings):
        self.admin_password = secrets.token_urlsafe(16)
        configured = load_settings("user")
        self.database_server = {
            "host": configured["DB_HOST"],
            "port": int(configured["DB_PORT"]),
            "user": configured["DB_USER"],
            "password": configured["DB_PASSWORD"],
        }
        number = next(_STACK_NUMBERS)
        prefix = f"bench_{os.getpid()}_" + (f"{number}_" if number else "")
        self.databases = {database: prefix + database for _, _, database in SERVICES.values() if database}
        super().__init__(
            self.databases,
            {
                "DB_HOST": configured["DB_HOST"],
                "DB_PORT": configured["DB_PORT"],
                "DB_USER": configured["DB_USER"],
                "DB_PASSWORD": configured["DB_PASSWORD"],
                "JWT_SECRET_KEY": secrets.token_urlsafe(48),
                "ADMIN_USERNAME": ADMIN_USERNAME,
                "ADMIN_PASSWORD": self.admin_password,
                "RATELIMIT_ENABLED": "false",
                "REVOCATION_KEY_PREFIX": f"shopbench:{secrets.token_hex(4)}:",
                # The seeded customers' tokens must outlive a whole run (medians of 5 take longer than 15 min).
                "ACCESS_TOKEN_TTL_SECONDS": "3600",
                **settings,
            },
        )

    def tuning(self):
        """``{service: {setting: value}}`` of the settings that shape its speed, as the service sees them."""
        return {
            service: {
                name: value
                for name, value in load_settings(service, self.environments[service]).items()
                if name in TUNING_SETTINGS
            }
            for service in launcher.START_ORDER
        }

    def create_databases(self):
        create_databases(self.database_server, self.databases)

    def drop_databases(self):
        drop_databases(self.database_server, self.databases)

    def process_memory(self):
        """A :class:`ProcessMemory` of every process of every service: its gunicorn master, then its workers."""
        everyone = processes.all_processes()
        return [
            ProcessMemory(service, "master" if pid == master_pid else "worker", *processes.memory_bytes([pid]))
            for service, master_pid in self.master_pids.items()
            for pid in processes.process_tree(master_pid, everyone)
        ]

    def cpu_seconds(self):
        """CPU seconds (user + system) used so far by each service's process tree, and by MariaDB and Redis.

        Workers that ended are no longer counted: compare two readings around a load on a stable stack.
        """
        everyone = processes.all_processes()
        used = {
            service: sum(map(processes.cpu_seconds, processes.process_tree(master_pid, everyone)))
            for service, master_pid in self.master_pids.items()
        }
        return used | servers_cpu_seconds(everyone)

    def restart(self, service, **settings):
        """Stop ``service``, add ``settings`` to its environment, start it again and wait until it is healthy."""
        self.stop(service)
        self.environments[service].update(settings)
        self.start(service)


@contextmanager
def throwaway_stack(**settings):
    """Yield a started, healthy :class:`BenchStack` (``settings`` for every service).

    It is stopped and its databases dropped on the way out.
    """
    stack = BenchStack(**settings)
    try:
        stack.create_databases()
        stack.bootstrap_admin()
        stack.start_all()
        yield stack
    finally:
        stack.remove()
        stack.drop_databases()


def servers_cpu_seconds(everyone):
    """CPU seconds used so far by MariaDB and by Redis (every process of each, whoever loads it)."""
    return {
        server: sum(processes.cpu_seconds(pid) for pid, (name, _) in everyone.items() if name == command)
        for server, command in SERVERS.items()
    }
