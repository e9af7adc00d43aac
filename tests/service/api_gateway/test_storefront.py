"""The storefront's files and the CSRF check of its login routes, on the gateway alone (no service
is called before the check). The login itself, over real services: tests/e2e/test_storefront_session.py;
the pages in a browser: tests/browser."""

import re

import pytest

from api_gateway import create_app
from api_gateway.session import CSRF_COOKIE, CSRF_HEADER, REFRESH_COOKIE
from tests.support import TEST_JWT_SECRET

TEST_CONFIG = {"TESTING": True, "JWT_SECRET_KEY": TEST_JWT_SECRET, "RATELIMIT_ENABLED": False}
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def client():
    return create_app(TEST_CONFIG).test_client()


def test_a_browser_gets_the_storefront_at_the_root_with_a_strict_policy(client):
    response = client.get("/", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200 and response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy and "connect-src 'self'" in policy
    page = response.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "an inline script"
    assert not re.search(r"\son\w+=", page), "an inline event handler"


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json, text/html;q=0.5"])
def test_an_api_client_still_gets_the_description(client, accept):
    response = client.get("/", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json()["routes"]["categories"] == "/api/categories"


def test_the_page_loads_only_the_gateways_own_files(client):
    page = client.get("/", headers={"Accept": BROWSER_ACCEPT}).get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"#]+)"', page)
    local = [asset for asset in assets if asset.startswith("/storefront/")]
    assert {"/storefront/app.js", "/storefront/style.css"} <= set(local)
    assert all(asset.startswith("/") or asset.startswith("data:") for asset in assets), assets
    for asset in local:
        response = client.get(asset)
        assert response.status_code == 200 and "Content-Security-Policy" in response.headers, asset


@pytest.mark.parametrize("asset", ["missing.js", "../session.py", "../../shop_common/settings.py"])
def test_an_unknown_asset_is_a_json_404(client, asset):
    response = client.get(f"/storefront/{asset}")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


@pytest.mark.parametrize("method, path", [("POST", "/api/session/refresh"), ("DELETE", "/api/session")])
@pytest.mark.parametrize(
    "cookie, header, origin",
    [
        (None, None, None),
        ("token-a", None, None),
        ("token-a", "token-b", None),
        (None, "token-a", None),
        ("token-a", "token-a", "https://evil.example"),
    ],
)
def test_refresh_and_logout_refuse_a_request_failing_the_csrf_check(client, method, path, cookie, header, origin):
    client.set_cookie(REFRESH_COOKIE, "a-refresh-token", path="/api/session")
    if cookie:
        client.set_cookie(CSRF_COOKIE, cookie)
    headers = {CSRF_HEADER: header} if header else {}
    if origin:
        headers["Origin"] = origin
    response = client.open(path, method=method, headers=headers)
    assert response.status_code == 403 and response.get_json()["error"] == "csrf_failed"
    assert "Set-Cookie" not in response.headers


def test_refresh_without_a_login_cookie_is_401(client):
    client.set_cookie(CSRF_COOKIE, "token-a")
    response = client.post("/api/session/refresh", headers={CSRF_HEADER: "token-a", "Origin": "http://localhost"})
    assert response.status_code == 401 and response.get_json()["error"] == "not_logged_in"


def test_logout_without_a_login_cookie_clears_the_cookies(client):
    client.set_cookie(CSRF_COOKIE, "token-a")
    response = client.delete("/api/session", headers={CSRF_HEADER: "token-a"})
    assert response.status_code == 200
    cleared = response.headers.getlist("Set-Cookie")
    assert any(c.startswith(f"{REFRESH_COOKIE}=;") for c in cleared) and any(
        c.startswith(f"{CSRF_COOKIE}=;") for c in cleared
    )
