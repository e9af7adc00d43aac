"""Services down or hung: a 503 or 504 naming them, at once or within the timeout; / and /health."""

import time

import pytest
import requests

from tests.e2e.gateway_helpers import (
    assert_json_error,
    own_gateway,
)
from tests.e2e.upstreams import HungService
from tests.support import free_port

# --- 6. and 7. services down or hung; / and /health ------------------------------------------


@pytest.fixture(scope="module")
def troubled_gateway(stack, tmp_path_factory):
    """A gateway whose user service is fine, product service stopped, customer and transaction services hung."""
    with (
        HungService() as hung_service,
        own_gateway(
            stack,
            tmp_path_factory.mktemp("troubled"),
            PRODUCT_SERVICE_URL=f"http://127.0.0.1:{free_port()}",
            CUSTOMER_SERVICE_URL=hung_service.url,
            TRANSACTION_SERVICE_URL=hung_service.url,
            GATEWAY_TIMEOUT="1",
            SERVICE_TIMEOUT="1",
        ) as url,
    ):
        yield url


def timed(method, url, **kwargs):
    started = time.monotonic()
    response = requests.request(method, url, timeout=15, **kwargs)
    return response, time.monotonic() - started


def test_a_stopped_service_is_a_503_naming_it_at_once(troubled_gateway):
    response, seconds = timed("GET", troubled_gateway + "/api/products")
    assert "product service" in assert_json_error(response, 503, "service_unavailable")["message"]
    assert seconds < 1


@pytest.mark.parametrize(
    "method, path, service",
    [
        ("GET", "/api/transactions/customer/1", "transaction"),
        ("POST", "/api/customers", "customer"),
    ],
)
def test_a_hung_service_is_a_504_naming_it_within_the_timeout(troubled_gateway, user, method, path, service):
    response, seconds = timed(method, troubled_gateway + path, headers=user[1], json={})
    assert f"{service} service" in assert_json_error(response, 504, "gateway_timeout")["message"]
    assert 1 <= seconds < 2


def test_the_services_that_are_up_still_answer(troubled_gateway, user):
    user_id, headers = user
    assert requests.get(f"{troubled_gateway}/api/users/{user_id}", headers=headers, timeout=10).status_code == 200


def test_health_asks_every_service_at_once_and_names_those_down(troubled_gateway):
    response, seconds = timed("GET", troubled_gateway + "/health")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "services": {
            "user": "ok",
            "customer": "unavailable",
            "product": "unavailable",
            "transaction": "unavailable",
            "payment": "ok",
        },
        "down": ["customer", "product", "transaction"],
    }
    assert seconds < 1.9  # two hung services asked one after the other would take 2 s


def test_the_root_describes_the_gateway_and_its_links_lead_somewhere(api):
    response = api.get("/")
    assert response.status_code == 200
    described = response.json()
    assert set(described["routes"]) == {
        "users",
        "customers",
        "products",
        "categories",
        "transactions",
        "cart",
        "checkout",
        "payments",
    }
    for link in [*described["routes"].values(), described["docs"], described["openapi"], described["health"]]:
        assert api.get(link).status_code in (200, 401), link
