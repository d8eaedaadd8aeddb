"""`flask seed-demo`: the demo help desk (idempotent), optionally with a large desk in bulk."""

import time

import click
from flask import current_app

from helpdesk.accounts.auth import hash_password
from helpdesk.demo import bulk
from helpdesk.demo.seed import DEMO_PASSWORD, seed_demo
from helpdesk.extensions import db

MAX_TICKETS = 1_000_000


def _ticket_count(_ctx, _param, value):
    if value is None or 0 <= value <= MAX_TICKETS:
        return value
    raise click.BadParameter(f"give a number of tickets from 0 to {MAX_TICKETS:,} (got {value:,}).")


@click.command("seed-demo")
@click.option(
    "--tickets",
    type=int,
    default=0,
    callback=_ticket_count,
    help="Also add this many tickets in bulk (with customers in organizations, three messages "
    "each, notes, tags and charges), once per desk: a desk that already has them is left as it is.",
)
def seed_demo_command(tickets):
    """Create the demo help desk (idempotent); --tickets N adds a large desk to try at scale."""
    summary = seed_demo()
    db.session.commit()
    click.echo(
        f"Demo data ready: {summary['users']} users, {summary['tickets_created']} new tickets, "
        f"{summary['articles_created']} new knowledge-base articles."
    )
    if tickets and bulk.has_bulk_tickets():
        click.echo(
            "This desk already has its bulk tickets (from an earlier --tickets run): none added. "
            "Start from an empty database for another size."
        )
    elif tickets:
        started = time.perf_counter()
        added = bulk.add_desk(tickets, password_hash=hash_password(DEMO_PASSWORD))
        db.session.commit()
        click.echo(
            f"Added {added['tickets']:,} tickets ({added['messages']:,} messages, {added['notes']:,} "
            f"internal notes, {added['tags']:,} tags, {added['charges']:,} paid) for {added['customers']:,} "
            f"customers in {added['organizations']:,} organizations in {time.perf_counter() - started:.1f} s; "
            f"they sign in with the demo password."
        )
    click.echo(f"Log in at {current_app.config['PUBLIC_URL']} with admin@example.com / helpdesk-demo")
