"""API commands: `flask api prune-idempotency` keeps the Idempotency-Key answers from growing for
ever (for cron). Thin."""

import click
from flask import current_app


@click.group("api")
def api_group():
    """The REST API's upkeep."""


# A hundred years: the cutoff is now less this many hours, and a date before the year 1 does not
# exist (a larger --hours ended in an OverflowError's traceback).
MAX_HOURS = 876_000


@api_group.command("prune-idempotency")
@click.option(
    "--hours",
    type=click.IntRange(min=1, max=MAX_HOURS),
    default=None,
    help="Keep the answers of keys used within this many hours (default API_IDEMPOTENCY_KEEP_HOURS, 24).",
)
def prune_idempotency_command(hours):
    """Delete the answers kept for Idempotency-Keys older than --hours."""
    from helpdesk.api.idempotency import prune
    from helpdesk.extensions import db

    hours = hours or int(current_app.config["API_IDEMPOTENCY_KEEP_HOURS"])
    if hours > MAX_HOURS:
        raise click.ClickException(
            f"API_IDEMPOTENCY_KEEP_HOURS is {hours:,}: set it to at most {MAX_HOURS:,}. Nothing was deleted."
        )
    deleted = prune(hours)
    db.session.commit()
    click.echo(f"deleted {deleted} Idempotency-Key answers older than {hours} hours")
