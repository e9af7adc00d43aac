"""API gateway: the one public door (port 3000). Forwards /api/* to the services."""
from .app import create_app

__all__ = ["create_app"]
