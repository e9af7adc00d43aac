"""The API reference: docs/openapi.yaml is valid OpenAPI 3.1, names every public route, and
the gateway serves it as JSON and as a Swagger UI page that renders in a real browser."""

import re
import subprocess

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import OpenAPIV31SpecValidator

import customer_service
import payment_service
import product_service
import transaction_service
import user_service
from api_gateway import create_app
from api_gateway.docs import OPENAPI_DOCUMENT
from tests.service.conftest import serve_in_thread
from tests.support import CHROMIUM, CHROMIUM_ARGS, TEST_JWT_SECRET

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
GATEWAY_OWN_ROUTES = {
    ("GET", "/"),
    ("GET", "/health"),
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/metrics"),
    ("POST", "/api/session"),
    ("POST", "/api/session/refresh"),
    ("DELETE", "/api/session"),
}
TEST_CONFIG = {"TESTING": True, "JWT_SECRET_KEY": TEST_JWT_SECRET, "RATELIMIT_ENABLED": False}


@pytest.fixture(scope="module")
def document():
    return yaml.safe_load(OPENAPI_DOCUMENT.read_text(encoding="utf-8"))


@pytest.fixture
def app():
    return create_app(TEST_CONFIG)


def documented_operations(document):
    """``{(METHOD, path)}`` of every operation in the document."""
    return {
        (method.upper(), path)
        for path, path_item in document["paths"].items()
        for method in path_item
        if method in HTTP_METHODS
    }


def served_operations():
    """``{(METHOD, path)}`` of every public route, in OpenAPI's path syntax (``{user_id}``).

    Read from the services' own URL maps, so a route added without documenting it fails here.
    """
    operations = set(GATEWAY_OWN_ROUTES)
    for service in (user_service, customer_service, product_service, transaction_service, payment_service):
        for rule in service.create_app(TEST_CONFIG).url_map.iter_rules():
            if rule.rule.startswith("/api/"):
                path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
                operations |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return operations


def test_the_document_is_valid_openapi_3_1(document):
    OpenAPIV31SpecValidator(document).validate()


def test_the_document_names_every_public_route_and_no_other(document):
    assert documented_operations(document) == served_operations()


def examples_with_schemas(node, where):
    """``(where, example, schema)`` for each ``example`` beside a ``schema`` (media types,
    parameters) and each item of a schema's own ``examples``, anywhere in ``node``."""
    if isinstance(node, dict):
        if "example" in node and "schema" in node:
            yield where, node["example"], node["schema"]
        if isinstance(node.get("examples"), list):
            yield from ((where, example, node) for example in node["examples"])
        for key, value in node.items():
            yield from examples_with_schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from examples_with_schemas(value, f"{where}/{index}")


def test_every_example_matches_its_schema(document):
    found = [
        *examples_with_schemas(document["paths"], "#/paths"),
        *examples_with_schemas(document["components"], "#/components"),
    ]
    assert len(found) > 40
    for where, example, schema in found:
        # With the components beside it, the schema's "#/components/..." references resolve.
        validator = Draft202012Validator(
            schema | {"components": document["components"]}, format_checker=FormatChecker()
        )
        assert not list(validator.iter_errors(example)), (where, example)


def test_openapi_json_is_the_yaml_document(app, document):
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == document


def test_the_page_loads_its_assets_from_the_gateway_only(app):
    client = app.test_client()
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.get_data(as_text=True))
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets)
    for asset in assets:
        assert asset.startswith("/docs/assets/"), asset
        assert client.get(asset).status_code == 200, asset


@pytest.mark.parametrize("asset", ["missing.js", "../__init__.py", "../../flask/app.py"])
def test_an_unknown_asset_is_a_json_404(app, asset):
    response = app.test_client().get(f"/docs/assets/{asset}")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_the_page_lists_every_operation_in_headless_chromium(app, document, tmp_path):
    url, server = serve_in_thread(app)
    try:
        dom = subprocess.run(
            [
                CHROMIUM,
                *CHROMIUM_ARGS,
                f"--user-data-dir={tmp_path}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                f"{url}/docs",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    finally:
        server.shutdown()
    rendered = set(re.findall(r'opblock-summary-method">([A-Z]+)<.*?data-path="([^"]+)"', dom))
    assert rendered == documented_operations(document)
