"""`flask create-user`: an account with a role, through the accounts service (audit, seats)."""

import click

from helpdesk.accounts import users
from helpdesk.errors import DomainError
from helpdesk.extensions import db


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["customer", "technician", "admin"]), default="customer")
@click.option("--over-seat-limit", is_flag=True, help="Create an agent even past AGENT_SEAT_LIMIT.")
@click.password_option()
def create_user_command(email, name, role, over_seat_limit, password):
    """Create a user (e.g. the first administrator of a production help desk)."""
    try:
        user = users.create_user(email, name, password, role, confirmed=over_seat_limit)
        db.session.commit()
    except users.SeatLimitConfirmationNeeded as exc:
        raise click.ClickException(f"{exc} Add --over-seat-limit to create the account anyway.") from exc
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {user.email} ({user.role}).")
