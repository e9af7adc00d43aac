"""/metrics (who may read it, what it labels), JSON log lines, and the Prometheus files, checked by promtool."""

import json
import re
import subprocess

from api_gateway import create_app
from shop_common.observability import configure_logging
from shop_common.settings import PROJECT_ROOT
from tests.support import TEST_JWT_SECRET

TEST_CONFIG = {
    "TESTING": True,
    "JWT_SECRET_KEY": TEST_JWT_SECRET,
    "RATELIMIT_ENABLED": False,
    # No service listens here: a forwarded request is answered 503 at once.
    "PRODUCT_SERVICE_URL": "http://127.0.0.1:9",
    "SERVICE_CONNECT_TIMEOUT": 0.2,
}
PROMETHEUS_DIR = PROJECT_ROOT / "deploy" / "prometheus"


def test_metrics_are_served_to_loopback_and_refused_to_other_networks():
    client = create_app(TEST_CONFIG).test_client()
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert "shop_http_request_duration_seconds" in response.text
    refused = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert refused.status_code == 403 and refused.json["error"] == "forbidden"
    opened = create_app(dict(TEST_CONFIG, METRICS_ALLOWED_NETWORKS="10.0.0.0/8")).test_client()
    assert opened.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200


def test_metrics_can_be_switched_off():
    client = create_app(dict(TEST_CONFIG, METRICS_ENABLED=False)).test_client()
    assert client.get("/metrics").status_code == 404


def test_requests_are_labelled_by_route_template_never_by_path():
    client = create_app(TEST_CONFIG).test_client()
    for product_id in (7, 8):
        assert client.get(f"/api/products/{product_id}").status_code == 503
    client.get("/no/such/route/42")
    text = client.get("/metrics").text
    assert re.search(
        r'shop_http_request_duration_seconds_count\{method="GET",'
        r'route="/api/products/<path:rest>",status="503"\} [2-9]',
        text,
    ), text
    assert 'route="unmatched"' in text
    assert re.search(r'shop_service_call_duration_seconds_count\{outcome="refused",target="product"\} [2-9]', text)
    assert not re.search(r'route="[^"]*/(7|8|42)"', text)


def test_a_json_log_line_is_one_object_with_the_ids_and_the_access_fields(capsys):
    app = create_app(dict(TEST_CONFIG, LOG_FORMAT="json"))
    try:
        response = app.test_client().get("/", headers={"X-Request-ID": "json-line-1"})
        assert response.status_code == 200
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    finally:
        configure_logging("gateway", "INFO")
    (access,) = [line for line in lines if line["request_id"] == "json-line-1"]
    assert access["logger"] == "access" and access["service"] == "gateway" and access["level"] == "INFO"
    assert access["trace_id"] == "-"  # tracing is off
    assert (access["method"], access["path"], access["status"], access["user"]) == ("GET", "/", 200, "-")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", access["time"])
    assert access["message"].startswith("GET / 200 ")


def test_the_prometheus_configuration_and_alert_rules_pass_promtool():
    for command in (
        ["promtool", "check", "config", "prometheus.yml"],
        ["promtool", "test", "rules", "alerts.test.yml"],
    ):
        result = subprocess.run(command, cwd=PROMETHEUS_DIR, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_dashboard_and_the_alerts_ask_only_for_metrics_the_services_export():
    defined = set()
    for source in PROJECT_ROOT.glob("*/*.py"):
        defined |= set(
            re.findall(r'(?:Counter|Histogram|Gauge|GaugeMetricFamily)\(\s*"(shop_\w+)"', source.read_text())
        )
    dashboard = json.loads((PROJECT_ROOT / "deploy" / "grafana" / "shop.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    exprs.append((PROMETHEUS_DIR / "alerts.yml").read_text())
    asked = {re.sub(r"_(bucket|count|sum)$", "", name) for expr in exprs for name in re.findall(r"shop_\w+", expr)}
    assert asked and asked <= defined, asked - defined
    assert len(defined) >= 12, defined
