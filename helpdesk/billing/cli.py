"""`flask billing sweep`: the billing work that waits for a time (cron-safe, idempotent)."""

import click
from flask.cli import AppGroup

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db

billing_cli = AppGroup("billing", help="Card billing: subscriptions whose paid period is over.")


@billing_cli.command("sweep")
def sweep_command():
    """Move the banks of cancelled subscriptions whose paid period is over to their fallback plan."""
    from helpdesk.billing import subscription_events

    now, ended = utcnow(), 0
    for subscription_id in subscription_events.due_lapses(now):
        subscription = subscription_events.lock_subscription(subscription_id)
        ended += subscription_events.lapse(subscription, now)
        db.session.commit()  # one subscription per transaction: a long run holds no lock for long
    click.echo(f"Billing sweep: {ended} subscription(s) ended.")
