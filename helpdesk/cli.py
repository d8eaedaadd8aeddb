"""Command-line entry points: thin wrappers that call services and commit."""

import click
from flask import current_app

from .extensions import db


def register_cli(app):
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_user_command)
    from .mail_cli import mail_group, worker_command

    app.cli.add_command(worker_command)
    app.cli.add_command(mail_group)

    from .cli_credits import credits_cli

    app.cli.add_command(credits_cli)


@click.command("seed-demo")
def seed_demo_command():
    """Create the demo help desk (idempotent)."""
    from .services.seed import seed_demo

    summary = seed_demo()
    db.session.commit()
    click.echo(f"Demo data ready: {summary['users']} users, {summary['tickets_created']} new tickets.")
    click.echo(f"Log in at {current_app.config['PUBLIC_URL']} with admin@example.com / helpdesk-demo")


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["customer", "technician", "admin"]), default="customer")
@click.password_option()
def create_user_command(email, name, role, password):
    """Create a user (e.g. the first administrator of a production help desk)."""
    from .errors import DomainError
    from .services import accounts

    try:
        user = accounts.register_customer(email, name, password)
        user.role = role
        db.session.commit()
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {user.email} ({user.role}).")
