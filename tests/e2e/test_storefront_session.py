"""The storefront's login over the real services (api_gateway/session.py): the refresh token only
in an HttpOnly cookie, rotated at each refresh, its login ended at logout; CSRF-checked."""

import requests

from tests.support import unique_name

PASSWORD = "storefront-password-1"


def registered(api):
    username = unique_name("front")
    assert api.post("/api/users/register", json={"username": username, "password": PASSWORD}).status_code == 201
    return username


def browser(stack):
    """A cookie-keeping client, as a browser on the gateway's origin is."""
    session = requests.Session()
    session.headers["Origin"] = stack.gateway
    return session


def test_login_keeps_the_refresh_token_out_of_the_answer_and_in_an_httponly_cookie(api, stack):
    username, client = registered(api), browser(stack)
    response = client.post(stack.gateway + "/api/session", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"message", "access_token", "token_type", "expires_in", "user"}
    assert body["user"]["username"] == username
    cookies = {cookie.name: cookie for cookie in client.cookies}
    refresh = cookies["shop_refresh"]
    assert refresh.has_nonstandard_attr("HttpOnly") and refresh.path == "/api/session"
    assert refresh.get_nonstandard_attr("SameSite") == "Strict"
    assert not cookies["shop_csrf"].has_nonstandard_attr("HttpOnly")
    whoami = api.get(f"/api/users/{body['user']['id']}", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert whoami.status_code == 200


def test_a_wrong_password_is_the_user_services_401_and_sets_no_cookie(api, stack):
    username, client = registered(api), browser(stack)
    response = client.post(stack.gateway + "/api/session", json={"username": username, "password": "wrong-one-1"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_credentials"
    assert not client.cookies


def test_refresh_rotates_the_cookie_and_logout_ends_the_login(api, stack):
    username, client = registered(api), browser(stack)
    login = client.post(stack.gateway + "/api/session", json={"username": username, "password": PASSWORD}).json()
    first_refresh = client.cookies["shop_refresh"]
    csrf = {"X-CSRF-Token": client.cookies["shop_csrf"]}

    renewed = client.post(stack.gateway + "/api/session/refresh", headers=csrf)
    assert renewed.status_code == 200 and "refresh_token" not in renewed.json()
    assert client.cookies["shop_refresh"] != first_refresh
    access = {"Authorization": f"Bearer {renewed.json()['access_token']}"}
    assert api.get(f"/api/users/{login['user']['id']}", headers=access).status_code == 200

    assert client.post(stack.gateway + "/api/session/refresh").status_code == 403  # no CSRF header
    logout = client.delete(stack.gateway + "/api/session", headers=csrf)
    assert logout.status_code == 200 and "shop_refresh" not in client.cookies
    assert api.get(f"/api/users/{login['user']['id']}", headers=access).status_code == 401
    client.cookies.set("shop_csrf", csrf["X-CSRF-Token"])
    assert client.post(stack.gateway + "/api/session/refresh", headers=csrf).status_code == 401


def test_a_refused_refresh_clears_the_cookies(api, stack):
    client = browser(stack)
    client.cookies.set("shop_refresh", "not-a-refresh-token", path="/api/session")
    client.cookies.set("shop_csrf", "token-a")
    response = client.post(stack.gateway + "/api/session/refresh", headers={"X-CSRF-Token": "token-a"})
    assert response.status_code == 401
    cleared = response.raw.headers.getlist("Set-Cookie")
    for name in ("shop_refresh", "shop_csrf"):
        assert any(cookie.startswith(f"{name}=;") and "Max-Age=0" in cookie for cookie in cleared), cleared
