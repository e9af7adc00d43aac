"""The API reference: ``GET /openapi.json`` and the Swagger UI page ``GET /docs``.

``docs/openapi.yaml`` is the contract; it is read and turned into JSON once per
process, when it is first asked for: parsing it costs the process a few MiB of
memory it keeps (and PyYAML itself), for a page few requests ask for. The
document is checked by the tests (tests/service/api_gateway/test_docs.py).
Swagger UI's files come from the flask-swagger-ui package and are served by the
gateway itself under ``/docs/assets/``, so the page works without internet
access. (The swagger-ui-bundle package ships Swagger UI 4, which cannot render
an OpenAPI 3.1 document.) Like ``/`` and ``/health`` these routes are not rate
limited: they are static and reach no service, and one page view fetches five of them.
"""

import json
from importlib.resources import files

from flask import Blueprint, Response, current_app, send_from_directory

from shop_common.settings import PROJECT_ROOT

from .rate_limits import limiter

OPENAPI_DOCUMENT = PROJECT_ROOT / "docs" / "openapi.yaml"
SWAGGER_UI_ASSETS = files("flask_swagger_ui") / "dist"

REFERENCE_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Shop API reference</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: true,
    });
  </script>
</body>
</html>
"""

docs = Blueprint("docs", __name__)


def openapi_document_as_json():
    import yaml  # only in a process that serves the document

    return json.dumps(yaml.safe_load(OPENAPI_DOCUMENT.read_text(encoding="utf-8")))


@docs.get("/openapi.json")
@limiter.exempt
def openapi_json():
    document = current_app.extensions.get("openapi_json")
    if document is None:
        document = current_app.extensions["openapi_json"] = openapi_document_as_json()
    return Response(document, mimetype="application/json")


@docs.get("/docs")
@limiter.exempt
def reference_page():
    """Swagger UI over ``/openapi.json``: every operation, with "Try it out" against this gateway."""
    return Response(REFERENCE_PAGE, mimetype="text/html")


@docs.get("/docs/assets/<path:filename>")
@limiter.exempt
def swagger_ui_asset(filename):
    """:raise 404: no such file in the Swagger UI distribution."""
    return send_from_directory(SWAGGER_UI_ASSETS, filename)
