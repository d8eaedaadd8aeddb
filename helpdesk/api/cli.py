"""API commands: `flask api prune-idempotency` keeps the Idempotency-Key answers from growing for
ever (for cron). Thin."""

import click
from flask import current_app


@click.group("api")
def api_group():
    """The REST API's upkeep."""


@api_group.command("prune-idempotency")
@click.option(
    "--hours",
    type=click.IntRange(min=1),
    default=None,
    help="Keep the answers of keys used within this many hours (default API_IDEMPOTENCY_KEEP_HOURS, 24).",
)
def prune_idempotency_command(hours):
    """Delete the answers kept for Idempotency-Keys older than --hours."""
    from helpdesk.api.idempotency import prune
    from helpdesk.extensions import db

    hours = hours or int(current_app.config["API_IDEMPOTENCY_KEEP_HOURS"])
    deleted = prune(hours)
    db.session.commit()
    click.echo(f"deleted {deleted} Idempotency-Key answers older than {hours} hours")
