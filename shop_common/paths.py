"""Request paths normalised before routing, so the router never answers with a redirect.

Werkzeug's router redirects ``/api/products/1//`` (merged slashes) with a 308 and
an HTML body, its ``Location`` built from the Host the request came with: at a
service behind the gateway, the service's own internal address, handed on to the
client. Here runs of ``/`` are merged and a trailing ``/`` dropped before the
router sees the path, in every service and at the gateway (which forwards the
normalised path), so ``/api/products/1//`` is ``/api/products/1`` everywhere.
"""

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_SLASHES = re.compile(r"//+")


def normalised(path: str) -> str:
    """``path`` with each run of slashes made one and no trailing slash (``/`` stays ``/``)."""
    return _SLASHES.sub("/", path).rstrip("/") or "/"


class NormalisedPaths:
    """WSGI middleware giving the app :func:`normalised` ``PATH_INFO``."""

    def __init__(self, app: "WSGIApplication") -> None:
        self.app = app

    def __call__(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if "//" in path or (path.endswith("/") and path != "/"):
            environ["PATH_INFO"] = normalised(path)
        return self.app(environ, start_response)
