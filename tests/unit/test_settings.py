"""Settings precedence: real environment > service .env > project .env > defaults."""

import ssl

import certifi

from shop_common.db import connect_arguments
from shop_common.settings import PROJECT_ROOT, flask_config, load_settings, markdown_table
from tools.stack import gunicorn_command


def test_defaults_fit_a_local_xampp_mysql(tmp_path):
    settings = load_settings("product", environ={}, root=tmp_path)
    assert settings["PORT"] == "3003" and settings["DB_NAME"] == "product_db"
    assert (settings["DB_HOST"], settings["DB_PORT"], settings["DB_USER"], settings["DB_PASSWORD"]) == (
        "127.0.0.1",
        "3306",
        "root",
        "",
    )
    assert settings["HOST"] == "127.0.0.1"


def test_environment_beats_service_env_beats_project_env(tmp_path):
    (tmp_path / ".env").write_text("DB_USER=project\nDB_NAME=project_db\nLOG_LEVEL=DEBUG\n")
    (tmp_path / "user_service").mkdir()
    (tmp_path / "user_service" / ".env").write_text("DB_NAME=service_db\nPORT=4001\n")
    settings = load_settings("user", environ={"PORT": "5001"}, root=tmp_path)
    assert settings["PORT"] == "5001"
    assert settings["DB_NAME"] == "service_db"
    assert settings["DB_USER"] == "project"
    assert settings["LOG_LEVEL"] == "DEBUG"


def test_flask_config_types_numbers_and_flags(tmp_path):
    config = flask_config("gateway", environ={"RATELIMIT_ENABLED": "false", "SERVICE_TIMEOUT": "2.5"}, root=tmp_path)
    assert config["PORT"] == 3000 and config["SERVICE_TIMEOUT"] == 2.5
    assert config["RATELIMIT_ENABLED"] is False
    assert config["MAX_CONTENT_LENGTH"] == 1024 * 1024


def test_the_user_service_hashes_on_threads_and_the_others_run_gevent(tmp_path):
    """bcrypt would stall a gevent worker's every other request; the rest mostly wait on I/O."""
    gevent = "shop_common.gunicorn_worker.PyWSGIWorker"
    for service, worker_class in [
        ("user", "shop_common.thread_worker.ThreadWorker"),
        ("customer", gevent),
        ("product", gevent),
        ("transaction", gevent),
        ("gateway", gevent),
    ]:
        command = gunicorn_command(service, load_settings(service, environ={}, root=tmp_path))
        assert command[command.index("--worker-class") + 1] == worker_class


def test_the_documented_settings_table_is_the_declared_one():
    """Regenerate it with ``python -m shop_common.settings`` after changing a setting."""
    assert markdown_table() in (PROJECT_ROOT / "docs" / "operations.md").read_text()


def test_a_service_reads_only_the_settings_declared_for_it(tmp_path):
    assert "DB_NAME" not in load_settings("gateway", environ={}, root=tmp_path)
    assert "RATELIMIT_DEFAULT" not in load_settings("product", environ={}, root=tmp_path)
    assert "SAGA_STALE_SECONDS" in load_settings("transaction", environ={}, root=tmp_path)


def test_no_service_opens_gunicorns_control_socket(tmp_path):
    """Its default path is one per user (~/.gunicorn/gunicorn.ctl), which every stack would share."""
    for service in ("gateway", "user", "transaction"):
        assert "--no-control-socket" in gunicorn_command(service, load_settings(service, environ={}, root=tmp_path))


def test_database_connections_use_tls_only_with_a_ca_to_verify_the_server_by():
    config = flask_config("product", {})
    assert config["DB_SSL_CA"] == ""
    plain = connect_arguments(config)
    assert plain["ssl_disabled"] is True and "ssl" not in plain
    verified = connect_arguments(dict(config, DB_SSL_CA=certifi.where()))
    context = verified["ssl"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert connect_arguments(dict(config, DB_SSL_CA=certifi.where()))["ssl"] is context  # one for every connection
    assert "ssl_disabled" not in verified
