"""API gateway: the one public entry point (port 3000). Forwards /api/* to the services."""

from .app import create_app

__all__ = ["create_app"]
