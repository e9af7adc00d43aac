"""Payment sandbox: a provider's test mode for development and tests. Port 3006, database payment_sandbox_db."""

from .app import create_app

__all__ = ["create_app"]
