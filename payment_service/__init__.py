"""Payment service. Port 3005, database payment_db."""

from .app import create_app

__all__ = ["create_app"]
