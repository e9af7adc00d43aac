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
import re
import secrets
from contextlib import contextmanager
from pathlib import Path

from shop_common.settings import SERVICES, load_settings
from tools import stack as launcher
from tools.throwaway_stack import ThrowawayStack, create_databases, drop_databases

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
_MEMORY_FIELD = re.compile(r"^(Rss|Pss):\s+(\d+) kB$", re.MULTILINE)
# The servers beside the services whose CPU a request also costs: {name in the report: process name}.
SERVERS = {"MariaDB": "mariadbd", "Redis": "redis-server"}
_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


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

    def memory_bytes(self):
        """(RSS, PSS) in bytes of the five gunicorn masters and all their workers."""
        rss = pss = 0
        for master_pid in self.master_pids.values():
            for pid in _process_tree(master_pid):
                try:
                    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                except OSError:  # the process ended between listing and reading
                    continue
                fields = dict(_MEMORY_FIELD.findall(rollup))
                rss += int(fields["Rss"]) * 1024
                pss += int(fields["Pss"]) * 1024
        return rss, pss

    def cpu_seconds(self):
        """CPU seconds (user + system) used so far by each service's process tree, and by MariaDB and Redis.

        Workers that ended are no longer counted: compare two readings around a load on a stable stack.
        """
        processes = _processes()
        used = {
            service: sum(_cpu_seconds(pid) for pid in _process_tree(master_pid, processes))
            for service, master_pid in self.master_pids.items()
        }
        for server, command in SERVERS.items():
            used[server] = sum(_cpu_seconds(pid) for pid, (name, _) in processes.items() if name == command)
        return used

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


def _processes():
    """``{pid: (command name, parent pid)}`` of every process, from ``/proc/<pid>/stat``."""
    processes = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = stat_file.read_text()
        except OSError:
            continue
        # The command name in parentheses may hold spaces: the fields after it are fixed.
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        processes[int(stat_file.parent.name)] = (name, int(stat[stat.rindex(")") + 2 :].split()[1]))
    return processes


def _cpu_seconds(pid):
    """utime + stime of ``pid`` (fields 14 and 15 of its stat), 0 when it has ended."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND


def _process_tree(root_pid, processes=None):
    """``root_pid`` and all its descendants (``processes`` as :func:`_processes` gives them)."""
    children = {}
    for pid, (_, parent_pid) in (processes or _processes()).items():
        children.setdefault(parent_pid, []).append(pid)
    tree, waiting = [], [root_pid]
    while waiting:
        pid = waiting.pop()
        tree.append(pid)
        waiting.extend(children.get(pid, []))
    return tree
