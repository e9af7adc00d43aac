"""Flask CLI commands of the transaction service (``flask --app transaction_service ...``)."""

import click
from flask import current_app
from flask.cli import with_appcontext

from . import checkout


def init_app(app):
    app.cli.add_command(reconcile)


@click.command("reconcile")
@click.option(
    "--older-than",
    type=int,
    default=None,
    help="Seconds an order must have been unsettled (default: SAGA_STALE_SECONDS).",
)
@with_appcontext
def reconcile(older_than):
    """Finish orders and payments a crash or a lost call left half-way (see saga.py, checkout.py)."""
    if older_than is None:
        older_than = current_app.config["SAGA_STALE_SECONDS"]
    settled = checkout.sweep(older_than)
    click.echo(f"settled {settled} order(s)")
