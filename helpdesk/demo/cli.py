"""`flask seed-demo`: the demo help desk (idempotent)."""

import click
from flask import current_app

from helpdesk.demo.seed import seed_demo
from helpdesk.extensions import db


@click.command("seed-demo")
def seed_demo_command():
    """Create the demo help desk (idempotent)."""
    summary = seed_demo()
    db.session.commit()
    click.echo(
        f"Demo data ready: {summary['users']} users, {summary['tickets_created']} new tickets, "
        f"{summary['articles_created']} new knowledge-base articles."
    )
    click.echo(f"Log in at {current_app.config['PUBLIC_URL']} with admin@example.com / helpdesk-demo")
