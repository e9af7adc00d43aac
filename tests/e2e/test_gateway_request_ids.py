"""Request ids travel along the chain and the access log names the user."""

import re

from tests.e2e.gateway_helpers import (
    request_id,
)

# --- 3. request ids and the access log -------------------------------------------------------


def test_the_access_log_line_names_the_user_of_a_valid_token(api, stack, user):
    user_id, headers = user
    sent_id = request_id("access")
    response = api.get(f"/api/users/{user_id}", headers={**headers, "X-Request-ID": sent_id})
    assert response.status_code == 200 and response.headers["X-Request-ID"] == sent_id
    line = re.compile(rf"\[{sent_id}\] access: GET /api/users/{user_id} 200 \d+\.\dms user={user_id}$", re.M)
    assert line.search(stack.log("gateway")), sent_id
    assert sent_id in stack.log("user")


def test_a_request_without_a_usable_id_gets_one_that_travels_on(api, stack):
    for sent in ({}, {"X-Request-ID": "spaces are not allowed"}):
        response = api.get("/api/products", params={"limit": 1}, headers=sent)
        made = response.headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", made), made
        assert f"[{made}] access: GET /api/products 200" in stack.log("gateway")
        assert f"[{made}] access: GET /api/products 200" in stack.log("product")
