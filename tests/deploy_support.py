"""Settings of the processes the replica and container tiers start themselves.

Every setting of a service is given (a developer's ``.env`` files cannot leak in), with the
end-to-end tier's test values: its admin, a fast bcrypt, no rate limits unless asked, short
saga timings. ``service_urls`` says where a service finds the others (the replica tier's
HAProxy frontends, the container tier's containers).
"""

from shop_common.settings import SERVICES, service_defaults
from tests.e2e.conftest import SETTINGS as E2E_SETTINGS


def service_environment(service, port, databases, service_urls, **settings):
    """The environment of one process of ``service`` listening on ``port``; ``settings`` win."""
    environment = dict(service_defaults(service), **E2E_SETTINGS, HOST="127.0.0.1", PORT=str(port))
    environment.update({f"{name.upper()}_SERVICE_URL": url for name, url in service_urls.items() if name != "gateway"})
    database = SERVICES[service][2]
    if database:
        environment["DB_NAME"] = databases[database]
    environment.update(settings)
    return environment
