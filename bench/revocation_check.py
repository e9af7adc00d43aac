"""The revocation check's own cost: this process's CPU per checked request, with and without it.

Throughput through the gateway moves with whatever else the machine runs; CPU time
spent by one process moves far less. Rounds of authenticated requests go through
Flask's test client to an app with the check (one ``MGET`` to the real Redis) and
to the same app with the check turned off, alternately; the difference of the
medians is what the check adds to a request, each time a token is checked.
"""

import secrets
import statistics
import time

from flask import jsonify
from flask_jwt_extended import create_access_token

from shop_common.app import create_service_app
from shop_common.auth import auth_required

REQUESTS_PER_ROUND = 2000
ROUNDS = 5


def check_cost(redis_url, key_prefix):
    """``(microseconds the check adds, microseconds a request takes without it)``, medians of the rounds."""
    checked, unchecked = _probe_app(redis_url, key_prefix), _probe_app(redis_url, key_prefix)
    unchecked.extensions["flask-jwt-extended"].token_in_blocklist_loader(lambda header, claims: False)
    with_check, without_check = [], []
    for _ in range(ROUNDS):
        with_check.append(_cpu_per_request(checked))
        without_check.append(_cpu_per_request(unchecked))
    base = statistics.median(without_check)
    return (statistics.median(with_check) - base) * 1e6, base * 1e6


def _probe_app(redis_url, key_prefix):
    """A service app with one protected route; its token's user and login were never revoked (the usual case)."""
    app = create_service_app(
        "gateway",
        __name__,
        {
            "JWT_SECRET_KEY": secrets.token_urlsafe(48),
            "LOG_LEVEL": "WARNING",
            "REVOCATION_REDIS_URL": redis_url,
            "REVOCATION_KEY_PREFIX": key_prefix,
        },
        with_health=False,
    )
    app.add_url_rule("/probe", "probe", auth_required()(lambda: jsonify(ok=True)))
    with app.app_context():
        app.extensions["probe_headers"] = {
            "Authorization": "Bearer "
            + create_access_token(
                identity="1", additional_claims={"role": "customer", "fam": secrets.token_hex(16), "epoch": 0}
            )
        }
    return app


def _cpu_per_request(app):
    client, headers = app.test_client(), app.extensions["probe_headers"]
    started = time.process_time()
    for _ in range(REQUESTS_PER_ROUND):
        if client.get("/probe", headers=headers).status_code != 200:
            raise RuntimeError("the probe request was refused")
    return (time.process_time() - started) / REQUESTS_PER_ROUND
