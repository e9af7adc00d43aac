"""The admin commands: bootstrap from the environment, create on demand."""

from shop_common.db import get_db


def admins(app):
    with app.app_context(), get_db().cursor() as cursor:
        cursor.execute("SELECT username FROM users WHERE role = 'admin'")
        return [row["username"] for row in cursor.fetchall()]


def test_bootstrap_admin_is_idempotent(app, monkeypatch):
    monkeypatch.setitem(app.config, "ADMIN_USERNAME", "boss")
    monkeypatch.setitem(app.config, "ADMIN_PASSWORD", "boss-password-1")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["bootstrap-admin"])
    second = runner.invoke(args=["bootstrap-admin"])
    assert first.exit_code == 0 and "created" in first.output
    assert second.exit_code == 0 and "already exists" in second.output
    assert admins(app) == ["boss"]
    assert "boss-password-1" not in first.output + second.output
    login = app.test_client().post("/api/users/login", json={"username": "boss", "password": "boss-password-1"})
    assert login.get_json()["user"]["role"] == "admin"


def test_bootstrap_without_settings_does_nothing(app, monkeypatch):
    monkeypatch.setitem(app.config, "ADMIN_USERNAME", "")
    result = app.test_cli_runner().invoke(args=["bootstrap-admin"])
    assert result.exit_code == 0 and admins(app) == []


def test_create_admin_asks_for_a_password_and_checks_it(app):
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["create-admin", "chief"], input="short\nshort\n")
    assert weak.exit_code != 0 and admins(app) == []
    bad_name = runner.invoke(args=["create-admin", "chief admin"], input="long-enough-1\nlong-enough-1\n")
    assert bad_name.exit_code != 0 and admins(app) == []
    made = runner.invoke(args=["create-admin", "chief"], input="long-enough-1\nlong-enough-1\n")
    assert made.exit_code == 0 and admins(app) == ["chief"]
    again = runner.invoke(args=["create-admin", "chief"], input="long-enough-1\nlong-enough-1\n")
    assert again.exit_code != 0 and "already exists" in again.output
