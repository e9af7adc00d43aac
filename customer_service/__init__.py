"""Customer service. Port 3002, database customer_db."""

from .app import create_app

__all__ = ["create_app"]
