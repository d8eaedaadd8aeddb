"""`flask billing sweep`: the billing work that waits for a time (cron-safe, idempotent)."""

import click
from flask.cli import AppGroup

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db

billing_cli = AppGroup("billing", help="Card billing: ended subscriptions, automatic top-ups left to charge.")


@billing_cli.command("sweep")
def sweep_command():
    """Move the banks of cancelled subscriptions whose paid period is over to their fallback plan,
    and charge automatic top-ups still waiting (a crash, Stripe unreachable). Run it every 5 minutes."""
    from helpdesk.billing import subscription_events, topup_runner

    now, ended = utcnow(), 0
    for subscription_id in subscription_events.due_lapses(now):
        subscription = subscription_events.lock_subscription(subscription_id)
        ended += subscription_events.lapse(subscription, now)
        db.session.commit()  # one subscription per transaction: a long run holds no lock for long
    outcomes = [topup_runner.run(payment_id) for payment_id in topup_runner.due(now)]
    charged = outcomes.count("charged")
    click.echo(
        f"Billing sweep: {ended} subscription(s) ended, {charged} of {len(outcomes)} top-up(s) charged."
    )
