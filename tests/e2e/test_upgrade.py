"""``make run-all`` on the databases of an earlier release: its migrate step (``python -m tools.db_init``,
as ``make db-init`` runs it) upgrades them, and the five services then serve the old rows under
the new rules: the old customer logs in and cancels an old order whose stock goes back, and a
stock over the limit is refused."""

import os
import subprocess
import sys

import pytest
import requests

from shop_common.migrations import migration_folders
from shop_common.settings import PROJECT_ROOT, SERVICES
from tests.old_releases import (
    MAX_STOCK,
    OLD_PASSWORD,
    OVER_LIMIT_HELD,
    OVER_LIMIT_PRODUCT,
    RELEASES,
    create_old_databases,
    drop_old_databases,
)
from tests.stacks import ADMIN_PASSWORD, ADMIN_USERNAME, SETTINGS
from tools.throwaway_stack import ThrowawayStack


def migrate(service, database):
    """``make db-init``'s command for one service, its DB_NAME set as ``make run-all`` reads settings."""
    environment = {**os.environ, **{name: value for name, value in SETTINGS.items() if name.startswith("DB_")}}
    environment["DB_NAME"] = database
    done = subprocess.run(
        [sys.executable, "-m", "tools.db_init", service],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(params=RELEASES, scope="module")
def upgraded(request):
    """The services started on ``release``'s databases once migrated: (stack, migrate outputs)."""
    databases = create_old_databases(request.param, f"ra{request.param}")
    stack = ThrowawayStack(databases, SETTINGS, isolated=True)
    try:
        first = {service: migrate(service, databases[SERVICES[service][2]]) for service in migration_folders()}
        again = {service: migrate(service, databases[SERVICES[service][2]]) for service in migration_folders()}
        stack.bootstrap_admin()
        stack.start_all()
        yield stack, first, again
    finally:
        stack.remove()
        drop_old_databases(databases)


def login(stack, username, password):
    response = requests.post(
        stack.gateway + "/api/users/login", json={"username": username, "password": password}, timeout=10
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def stock(stack, product_id):
    return requests.get(f"{stack.gateway}/api/products/{product_id}", timeout=10).json()["stock"]


def test_the_migrate_step_upgrades_once(upgraded):
    _, first, again = upgraded
    assert all("upgraded: 0001_" in output for output in first.values()), first
    assert all("up to date" in output for output in again.values()), again


def test_the_upgraded_stack_serves_the_old_rows_under_the_new_rules(upgraded):
    stack, _, _ = upgraded
    customer = login(stack, "old_customer", OLD_PASSWORD)
    orders = requests.get(f"{stack.gateway}/api/transactions/customer/1", headers=customer, timeout=10)
    assert orders.status_code == 200, orders.text
    assert sorted(order["id"] for order in orders.json()) == [1, 2]
    assert {order["id"]: order["total_amount"] for order in orders.json()} == {1: "19.10", 2: "150.00"}
    assert stock(stack, OVER_LIMIT_PRODUCT) == MAX_STOCK - OVER_LIMIT_HELD
    admin = login(stack, ADMIN_USERNAME, ADMIN_PASSWORD)
    over = requests.put(
        f"{stack.gateway}/api/products/{OVER_LIMIT_PRODUCT}",
        headers=admin,
        json={"stock": MAX_STOCK - OVER_LIMIT_HELD + 1},
        timeout=10,
    )
    assert over.status_code == 409 and over.json()["error"] == "stock_limit_exceeded", over.text
    cancelled = requests.put(
        f"{stack.gateway}/api/transactions/1/status", headers=customer, json={"status": "cancelled"}, timeout=20
    )
    assert cancelled.status_code == 200, cancelled.text
    assert stock(stack, OVER_LIMIT_PRODUCT) == MAX_STOCK  # the held units went back: they fit
    assert stock(stack, 1) == 18 + 2
