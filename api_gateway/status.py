"""``GET /``, what the gateway is; ``GET /health``, whether every service is ready.

``GET /health/live`` and ``/health/ready``, the gateway's own state for an orchestrator, are every
process's probes (shop_common/app.py): its readiness is only whether it is stopping. The services
are not asked (one being down is a 503 on its routes alone, and shows in ``/health``, and would
otherwise take every gateway out of rotation), nor is Redis (without it each gateway counts rate
limits in memory until it is back).

None is rate limited: monitors poll them, and they reach no service's data.
"""

from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, current_app, jsonify

from shop_common.errors import ApiError
from shop_common.http_client import service_client
from shop_common.observability import REQUEST_ID_HEADER, current_request_id

from . import storefront
from .proxy import SERVICE_OF_PREFIX
from .rate_limits import limiter

# Each service once, though it may own several route prefixes (the product service: products, categories).
SERVICES_BEHIND = tuple(dict.fromkeys(SERVICE_OF_PREFIX.values()))

status = Blueprint("status", __name__)


# How many /health requests are served at once; more wait for a free thread.
HEALTH_CHECKS_AT_ONCE = 8


def init_app(app):
    """The routes, and threads to ask the services at once."""
    app.extensions["health_checks"] = ThreadPoolExecutor(
        max_workers=len(SERVICES_BEHIND) * HEALTH_CHECKS_AT_ONCE,
        thread_name_prefix="health",
    )
    app.register_blueprint(status)


@status.get("/")
@limiter.exempt
def describe():
    """What this is, and where the route families live; a browser gets the storefront instead (storefront.py)."""
    if storefront.wants_page():
        return storefront.page()
    return jsonify(
        name="shop API gateway",
        description="The one public entry point of the shop backend: it checks tokens, "
        "limits request rates and forwards /api/* to the service that owns it.",
        routes={prefix: f"/api/{prefix}" for prefix in SERVICE_OF_PREFIX},
        authentication="Authorization: Bearer <access_token from POST /api/users/login>",
        docs="/docs",
        storefront="/ (with Accept: text/html, as a browser sends)",
        openapi="/openapi.json",
        health="/health",
    )


@status.get("/health")
@limiter.exempt
def health():
    """Readiness of each service: 200 when all are up, 503 naming those that are not.

    The services are asked in parallel, so hung ones cost one ``SERVICE_TIMEOUT``, not one each
    (the gateway's clients otherwise wait the longer ``GATEWAY_TIMEOUT``).
    """
    checks = current_app.extensions["health_checks"]
    request_id = current_request_id()
    timeout = current_app.config["SERVICE_TIMEOUT"]
    readiness = {
        service: checks.submit(is_ready, service_client(service), request_id, timeout) for service in SERVICES_BEHIND
    }
    services = {service: "ok" if ready.result() else "unavailable" for service, ready in readiness.items()}
    down = [service for service, state in services.items() if state != "ok"]
    body = {"status": "unavailable" if down else "ok", "services": services}
    if down:
        body["down"] = down
    return jsonify(body), 503 if down else 200


def is_ready(client, request_id, timeout):
    """Whether the client's service returns 200 for its ``/health`` within ``timeout`` seconds.

    It runs on a pool thread, outside the request's context.
    """
    try:
        response = client.request(
            "GET", "/health", headers={REQUEST_ID_HEADER: request_id}, signed=False, read_timeout=timeout
        )
    except ApiError:
        return False
    return response.status == 200
