"""Settings of the processes the replica and container tiers start themselves.

Every setting of a service is given (a developer's ``.env`` files cannot leak in), with the
end-to-end tier's test values: its admin, a fast bcrypt, no rate limits unless asked, short
saga timings. ``service_urls`` says where a service finds the others (the replica tier's
HAProxy frontends, the container tier's containers).
"""

from shop_common.settings import SERVICES, service_defaults
from tests.e2e.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.support import DB_SERVER, TEST_JWT_SECRET


def service_environment(service, port, databases, service_urls, **settings):
    """The environment of one process of ``service`` listening on ``port``; ``settings`` win."""
    environment = dict(
        service_defaults(service),
        HOST="127.0.0.1",
        PORT=str(port),
        DB_HOST=DB_SERVER["host"],
        DB_PORT=str(DB_SERVER["port"]),
        DB_USER=DB_SERVER["user"],
        DB_PASSWORD=DB_SERVER["password"],
        JWT_SECRET_KEY=TEST_JWT_SECRET,
        BCRYPT_ROUNDS="4",
        ADMIN_USERNAME=ADMIN_USERNAME,
        ADMIN_PASSWORD=ADMIN_PASSWORD,
        RATELIMIT_ENABLED="false",
        SERVICE_TIMEOUT="3.0",
        # Longer than any order request can take with these timeouts, so a sweeper never takes a live order.
        SAGA_STALE_SECONDS="8",
        SAGA_SWEEP_SECONDS="1",
    )
    environment.update({f"{name.upper()}_SERVICE_URL": url for name, url in service_urls.items() if name != "gateway"})
    database = SERVICES[service][2]
    if database:
        environment["DB_NAME"] = databases[database]
    environment.update(settings)
    return environment
