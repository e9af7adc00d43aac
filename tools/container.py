"""The container image's entry point (``Dockerfile``): what ``docker run IMAGE <command>`` does.

    gateway | user | customer | product | transaction | payment | sandbox   serve it under gunicorn
    migrate [SERVICE ...]   bring the databases to the latest schema, each service's migrations
                            (all by default; tools/db_init.py) and, with the user service's,
                            bootstrap the admin; idempotent, then exit
    healthcheck             exit 0 when this container's gunicorn answers /health/live

Every setting comes from the environment (an image has no ``.env``). A service
replaces this process with gunicorn (``exec``), so gunicorn is PID 1 and gets the
orchestrator's SIGTERM itself. ``migrate`` takes service names because each
service's ``DB_NAME`` is one variable: a stack whose databases are not the
default names migrates one service at a time.
"""

import os
import re
import sys
import urllib.request
from pathlib import Path

from shop_common.settings import DEVELOPMENT_ONLY, SERVICES, WITH_DATABASE, load_settings
from tools import db_init
from tools.stack import bootstrap_admin, gunicorn_command

USAGE = f"usage: {' | '.join(SERVICES)} | migrate [SERVICE ...] | healthcheck"


def serve(service):
    command = gunicorn_command(service, load_settings(service))
    # gunicorn's worker heartbeat file: /dev/shm is memory, and writable on a read-only root.
    command += ["--worker-tmp-dir", "/dev/shm"]
    os.execv(command[0], command)


def migrate(services):
    unknown = [service for service in services if SERVICES.get(service, (0, 0, None))[2] is None]
    if unknown:
        sys.exit(f"migrate: no database for {', '.join(unknown)}; {USAGE}")
    db_init.main(services or migrated_by_default())
    if not services or "user" in services:
        bootstrap_admin()


def migrated_by_default():
    """The shop's databases: not the sandbox's, which only development deployments run (and name)."""
    return [service for service in WITH_DATABASE if service not in DEVELOPMENT_ONLY]


def healthcheck():
    """Ask the address gunicorn (PID 1) was bound to, as the image's HEALTHCHECK."""
    command_line = Path("/proc/1/cmdline").read_bytes().decode().split("\0")
    if "--bind" not in command_line:
        sys.exit("healthcheck: this container runs no service")
    port = re.sub(r".*:", "", command_line[command_line.index("--bind") + 1])
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=3) as answer:
        sys.exit(0 if answer.status == 200 else 1)


def main(arguments):
    command = arguments[0] if arguments else ""
    if command in SERVICES:
        serve(command)
    elif command == "migrate":
        migrate(arguments[1:])
    elif command == "healthcheck":
        healthcheck()
    else:
        sys.exit(USAGE)


if __name__ == "__main__":
    main(sys.argv[1:])
