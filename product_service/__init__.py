"""Product service. Port 3003, database product_db."""

from .app import create_app

__all__ = ["create_app"]
