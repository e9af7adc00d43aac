"""Apply ``db_init.sql`` to the databases the services are configured with (``make db-init``)."""

import sys

import pymysql

from shop_common.schema import apply_schema, server_connection
from shop_common.settings import SERVICES, load_settings


def main(services=SERVICES):
    """Apply the schema of ``services`` (all by default) to the databases their settings name."""
    by_server = {}
    for service in services:
        default_database = SERVICES[service][2]
        if default_database is None:
            continue
        settings = load_settings(service)
        server = (settings["DB_HOST"], int(settings["DB_PORT"]), settings["DB_USER"], settings["DB_PASSWORD"])
        by_server.setdefault(server, {})[default_database] = settings["DB_NAME"]
    for (host, port, user, password), names in by_server.items():
        try:
            connection = server_connection(host, port, user, password)
        except pymysql.err.OperationalError as error:
            sys.exit(
                f"Cannot reach MySQL/MariaDB at {host}:{port} as '{user}' ({error.args[-1]}). "
                "Start the server (XAMPP: start MySQL; Debian/Ubuntu: sudo service mariadb start) "
                "or set DB_HOST, DB_PORT, DB_USER, DB_PASSWORD in .env."
            )
        with connection:
            apply_schema(connection, names)
        print(f"schema applied on {host}:{port}: " + ", ".join(sorted(names.values())))


if __name__ == "__main__":
    main()
