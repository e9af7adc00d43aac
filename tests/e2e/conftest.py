"""End-to-end tier: the real processes under gunicorn (the services and the payment sandbox), on free ports,
with their own databases.

The stack is started once per test session with the same launcher as
``make run-all`` (tools/stack.py) and stopped at the end, so ``make test``
runs beside a developer's stack and leaves no process behind.
"""

import pytest

from tests.stacks import admin_headers, api, shop, started_stack, user  # noqa: F401 (fixtures)


@pytest.fixture(scope="session")
def stack():
    with started_stack("e2e") as running:
        yield running
