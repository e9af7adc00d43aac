"""Transaction service. Port 3004, database transaction_db."""

from .app import create_app

__all__ = ["create_app"]
