"""Settings of the processes the replica and container tiers start themselves.

Every setting of a service is given (a developer's ``.env`` files cannot leak in), with the
end-to-end tier's test values: its admin, a fast bcrypt, no rate limits unless asked, short
saga timings. ``service_urls`` says where a service finds the others (the replica tier's
HAProxy frontends, the container tier's containers).
"""

from tests.e2e.conftest import SETTINGS as E2E_SETTINGS
from tests.support import TEST_REVOCATION_PREFIX
from tools.throwaway_stack import service_environment as stack_environment

# Revocation records of this run's own: another stack's user with the same id (a developer's,
# a parallel test run's) must not share a session epoch with ours.
OWN_SETTINGS = {**E2E_SETTINGS, "REVOCATION_KEY_PREFIX": f"{TEST_REVOCATION_PREFIX}deploy:"}


def service_environment(service, port, databases, service_urls, **settings):
    """The environment of one process of ``service`` listening on ``port``; ``settings`` win."""
    return stack_environment(service, port, databases, service_urls, {**OWN_SETTINGS, **settings})
