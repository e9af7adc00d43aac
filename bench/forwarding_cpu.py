"""CPU of the gateway per forwarded read by id, in its own thread, for a before/after of the gateway's code.

The gateway's WSGI app is called in this thread with a ready environ (no HTTP server in
front of it); the real product service, in another thread on a free port, answers it over
HTTP from a database of the caller's (``DATABASE``, made from db_init.sql). Printed: the
thread's CPU time (``time.thread_time``) per call over ``COUNT`` calls after a warm-up, so
neither the product service nor the start of the process counts. Log lines below WARNING are
off on both sides. ``limits`` counts every call in a ``memory://`` limit too high to be reached;
``refused`` asks ``GET /api/customers/1`` without a token instead, a 401 of the gateway's own
(not counted by the limits), and ``dot`` ``GET /api/products/./1``, counted then a 404 of the
gateway's own: what a forwarded request costs the gateway but the relay, whose cost and spread
would otherwise hide the rest.

Run it from the tree to measure, each tree in turn, several times (docs/performance.md,
Forwarding below Flask):

    python -m bench.forwarding_cpu DATABASE COUNT [limits] [refused | dot]
"""

import io
import logging
import sys
import time

from api_gateway import create_app
from product_service import create_app as create_product_app
from tests.service.conftest import serve_in_thread
from tests.support import TEST_JWT_SECRET, Tokens, app_test_config

WARMUP_CALLS = 500


def gateway_and_path(database, limited):
    """The gateway in front of a product service serving ``database``, and the path of one product."""
    product_url, _ = serve_in_thread(create_product_app(app_test_config(database)))
    gateway = create_app(
        {
            "TESTING": True,
            "JWT_SECRET_KEY": TEST_JWT_SECRET,
            "RATELIMIT_ENABLED": limited,
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_DEFAULT": "100000000 per minute",
            "PRODUCT_SERVICE_URL": product_url,
        }
    )
    created = gateway.test_client().post(
        "/api/products", json={"name": "Bench mug", "price": "3.00"}, headers=Tokens(gateway).admin()
    )
    return gateway, f"/api/products/{created.get_json()['id']}"


def cpu_per_call(gateway, path, count, status):
    """Seconds of this thread's CPU per call of ``gateway`` for ``GET path``, each answered ``status``."""
    environ = {
        name: value
        for name, value in gateway.test_client().get(path).request.environ.items()
        if not name.startswith("werkzeug.")
    }

    def start_response(answered, headers, exc_info=None):
        assert answered.startswith(status), answered

    def call():
        for _ in gateway(dict(environ, **{"wsgi.input": io.BytesIO(b"")}), start_response):
            pass

    for _ in range(WARMUP_CALLS):
        call()
    started = time.thread_time()
    for _ in range(count):
        call()
    return (time.thread_time() - started) / count


def main():
    database, count, modes = sys.argv[1], int(sys.argv[2]), set(sys.argv[3:])
    gateway, path = gateway_and_path(database, "limits" in modes)
    if "refused" in modes:
        path, status = "/api/customers/1", "401"
    elif "dot" in modes:
        path, status = "/api/products/./1", "404"
    else:
        status = "200"
    logging.disable(logging.INFO)
    print(
        f"gateway thread CPU per forwarded {path} ({status}): {cpu_per_call(gateway, path, count, status) * 1e6:.1f} us"
    )


if __name__ == "__main__":
    main()
