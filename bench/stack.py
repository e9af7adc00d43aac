"""A throw-away copy of the five services for the benchmark: free ports, its own databases.

It is started with the launcher of ``make run-all`` (tools/stack.py), so it runs
beside a developer's stack. Only the wiring is fixed here: ports, database names
(``bench_<pid>_<default name>``, ``bench_<pid>_<n>_<default name>`` for the n-th further stack of a process), a fresh JWT secret and admin, and rate limits
off. The tuning (``TUNING_SETTINGS``) is read as ``make run-all`` reads it: the
environment, then the ``.env`` files, then the defaults; so it can be changed
without touching the benchmark.
"""
import itertools
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from shop_common.schema import apply_schema, server_connection
from shop_common.settings import PROJECT_ROOT, SERVICES, load_settings
from tools import stack as launcher

TUNING_SETTINGS = ("GUNICORN_WORKER_CLASS", "GUNICORN_WORKERS", "GUNICORN_THREADS", "DB_POOL_SIZE", "BCRYPT_ROUNDS", "LOG_LEVEL")
ADMIN_USERNAME = "bench-admin"
_STACK_NUMBERS = itertools.count()
_MEMORY_FIELD = re.compile(r"^(Rss|Pss):\s+(\d+) kB$", re.MULTILINE)


class BenchStack:
    """The five services of one benchmark run, and what it needs to know about them."""

    def __init__(self, **settings):
        self.admin_password = secrets.token_urlsafe(16)
        configured = load_settings("user")
        self.database_server = {
            "host": configured["DB_HOST"], "port": int(configured["DB_PORT"]),
            "user": configured["DB_USER"], "password": configured["DB_PASSWORD"],
        }
        number = next(_STACK_NUMBERS)
        prefix = f"bench_{os.getpid()}_" + (f"{number}_" if number else "")
        self.databases = {
            database: prefix + database for _, _, database in SERVICES.values() if database
        }
        self.ports = {service: _free_port() for service in SERVICES}
        self.environments = self._environments()
        for environment in self.environments.values():
            environment.update(settings)
        self.run_dir = Path(tempfile.mkdtemp(prefix="shop-bench-"))
        self.master_pids = {}

    @property
    def gateway(self):
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def tuning(self):
        """``{service: {setting: value}}`` of the settings that shape its speed, as the service sees them."""
        return {
            service: {name: load_settings(service, self.environments[service])[name] for name in TUNING_SETTINGS}
            for service in launcher.START_ORDER
        }

    def _environments(self):
        wiring = {
            "HOST": "127.0.0.1",
            "DB_HOST": self.database_server["host"], "DB_PORT": str(self.database_server["port"]),
            "DB_USER": self.database_server["user"], "DB_PASSWORD": self.database_server["password"],
            "JWT_SECRET_KEY": secrets.token_urlsafe(48),
            "ADMIN_USERNAME": ADMIN_USERNAME, "ADMIN_PASSWORD": self.admin_password,
            "RATELIMIT_ENABLED": "false",
        }
        for service, port in self.ports.items():
            if service != "gateway":
                wiring[f"{service.upper()}_SERVICE_URL"] = f"http://127.0.0.1:{port}"
        environments = {}
        for service, (_, _, database) in SERVICES.items():
            environment = dict(os.environ, **wiring, PORT=str(self.ports[service]))
            environment.pop("DB_NAME", None)
            if database:
                environment["DB_NAME"] = self.databases[database]
            environments[service] = environment
        return environments

    def create_databases(self):
        with server_connection(**self.database_server) as connection:
            _drop_databases(connection, self.databases.values())
            apply_schema(connection, self.databases)

    def drop_databases(self):
        with server_connection(**self.database_server) as connection:
            _drop_databases(connection, self.databases.values())

    def bootstrap_admin(self):
        subprocess.run([sys.executable, "-m", "flask", "--app", "user_service", "bootstrap-admin"],
                       cwd=PROJECT_ROOT, env=self.environments["user"], check=True, capture_output=True)

    def start(self):
        for service in launcher.START_ORDER:
            self.master_pids[service] = launcher.start_service(service, self.environments[service], self.run_dir)
            launcher.wait_until_healthy(service, self.environments[service], self.run_dir)

    def stop(self):
        launcher.stop_services(launcher.START_ORDER, self.run_dir)

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


@contextmanager
def throwaway_stack(**settings):
    """Yield a started, healthy :class:`BenchStack` (``settings`` for every service); stop it and drop its databases on the way out."""
    stack = BenchStack(**settings)
    try:
        stack.create_databases()
        stack.bootstrap_admin()
        stack.start()
        yield stack
    finally:
        stack.stop()
        stack.drop_databases()
        shutil.rmtree(stack.run_dir, ignore_errors=True)


def _drop_databases(connection, names):
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _process_tree(root_pid):
    """``root_pid`` and all its descendants, from the parent pids in ``/proc/<pid>/stat``."""
    children = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = stat_file.read_text()
        except OSError:
            continue
        # The command name in parentheses may hold spaces: the fields after it are fixed.
        parent_pid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(parent_pid, []).append(int(stat_file.parent.name))
    tree, waiting = [], [root_pid]
    while waiting:
        pid = waiting.pop()
        tree.append(pid)
        waiting.extend(children.get(pid, []))
    return tree
