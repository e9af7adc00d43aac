"""Bring the services' databases to their latest schema (``make db-init``, ``make run-all``, the image's ``migrate``).

    python -m tools.db_init [SERVICE ...]

Each service that owns a database and keeps ``<package>/migrations/`` (all of them by default)
has its configured ``DB_NAME`` created if missing and its migrations applied
(shop_common/migrations.py): a new database, one made by an earlier release, or one already
up to date, which is left as it is.
"""

import sys

import pymysql
from yoyo.exceptions import LockTimeout

from shop_common.migrations import migration_folders, upgrade
from shop_common.settings import SERVICES, flask_config

# MySQL errors that mean the server was not reached or refused the login.
CANNOT_CONNECT = {1045, 2003, 2005, 2006, 2013}


def main(services=tuple(SERVICES)):
    """Upgrade the databases of ``services`` that own one, each as its settings name it."""
    unknown = sorted(set(services) - set(SERVICES))
    if unknown:
        sys.exit(f"db_init: no service {', '.join(unknown)}; services: {', '.join(SERVICES)}")
    for service, folder in migration_folders(services).items():
        config = flask_config(service)
        try:
            applied = upgrade(config, folder)
        except pymysql.err.OperationalError as error:
            if error.args[0] not in CANNOT_CONNECT:
                raise  # a migration failed: its statement and error in the traceback
            sys.exit(
                f"Cannot migrate {config['DB_NAME']} at {config['DB_HOST']}:{config['DB_PORT']} as "
                f"'{config['DB_USER']}' ({error.args[-1]}). Start the server (XAMPP: start MySQL; "
                "Debian/Ubuntu: sudo service mariadb start) or set DB_HOST, DB_PORT, DB_USER, DB_PASSWORD in .env."
            )
        except LockTimeout:
            sys.exit(
                f"Cannot migrate {config['DB_NAME']}: another run holds its lock (its yoyo_lock row). If none "
                "is running (one was killed half-way), DELETE FROM yoyo_lock in that database and run again."
            )
        print(f"{service}: {config['DB_NAME']} " + (f"upgraded: {', '.join(applied)}" if applied else "up to date"))


if __name__ == "__main__":
    main(sys.argv[1:] or tuple(SERVICES))
