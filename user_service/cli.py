"""Flask CLI commands of the user service (``flask --app user_service ...``)."""

import click
from flask import current_app
from flask.cli import with_appcontext

from . import erasure, repository
from .credentials import USERNAME, USERNAME_HINT, hash_password, password_problem


def init_app(app):
    app.cli.add_command(bootstrap_admin)
    app.cli.add_command(create_admin)
    app.cli.add_command(forget_deleted)


@click.command("bootstrap-admin")
@with_appcontext
def bootstrap_admin():
    """Create the admin named by ADMIN_USERNAME / ADMIN_PASSWORD unless that username exists.

    Idempotent: run again, it changes nothing (an existing account keeps its password).
    """
    username = current_app.config["ADMIN_USERNAME"]
    password = current_app.config["ADMIN_PASSWORD"]
    if not username or not password:
        click.echo("ADMIN_USERNAME / ADMIN_PASSWORD not set: no admin bootstrapped.")
        return
    _create(username, password, exists_ok=True)


@click.command("create-admin")
@click.argument("username")
@click.password_option()
@with_appcontext
def create_admin(username, password):
    """Create an admin account (the password is asked for, twice)."""
    _create(username, password, exists_ok=False)


def _create(username, password, exists_ok):
    if not USERNAME.fullmatch(username):
        raise click.ClickException(f"username {USERNAME_HINT}")
    problem = password_problem(password)
    if problem:
        raise click.ClickException(f"password {problem}")
    password_hash = hash_password(password, current_app.config["BCRYPT_ROUNDS"])
    if repository.insert_admin_if_missing(username, password_hash):
        click.echo(f"Admin '{username}' created.")
    elif exists_ok:
        click.echo(
            f"Admin '{username}' already exists; left as it is: its password is the one it was "
            "created with, which ADMIN_PASSWORD in .env does not change (docs/operations.md, Running with make)."
        )
    else:
        raise click.ClickException(f"the username '{username}' already exists")


@click.command("forget-deleted")
@with_appcontext
def forget_deleted():
    """Erase the customer profiles of deleted users that are still pending (see erasure.py)."""
    erased = erasure.sweep()
    pending = len(repository.pending_erasures())
    click.echo(f"erased {erased} profile(s); {pending} still pending")
    if pending:
        raise SystemExit(1)
