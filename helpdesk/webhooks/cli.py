"""Webhook commands: `flask webhooks prune` keeps the delivery log from growing for ever. Thin."""

import click


@click.group("webhooks")
def webhooks_group():
    """Outbound webhooks (deliveries are sent by `flask worker`)."""


# A hundred years: the cutoff is now less this many days, and a date before the year 1 does not
# exist (a larger --days ended in an OverflowError's traceback).
MAX_DAYS = 36_500


@webhooks_group.command("prune")
@click.option(
    "--days",
    default=30,
    show_default=True,
    type=click.IntRange(min=1, max=MAX_DAYS),
    help="Keep this many days.",
)
def prune_command(days):
    """Delete delivery attempts and finished deliveries older than --days (queued ones stay)."""
    from helpdesk.extensions import db
    from helpdesk.webhooks.delivery import prune

    deliveries, attempts = prune(days)
    db.session.commit()
    click.echo(f"deleted {deliveries} deliveries and {attempts} attempts older than {days} days")
