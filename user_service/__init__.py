"""User service: credentials, register, login (bcrypt + JWT), users. Port 3001, database user_db."""

from .app import create_app

__all__ = ["create_app"]
