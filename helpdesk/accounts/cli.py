"""`flask create-user`: an account with a role, through the accounts service (audit, seats)."""

import click

from helpdesk.accounts import users
from helpdesk.actions import perform


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["customer", "technician", "admin"]), default="customer")
@click.option("--over-seat-limit", is_flag=True, help="Create an agent even past AGENT_SEAT_LIMIT.")
@click.password_option()
def create_user_command(email, name, role, over_seat_limit, password):
    """Create a user (e.g. the first administrator of a production help desk)."""
    outcome = perform(users.create_user, email, name, password, role, confirmed=over_seat_limit)
    if isinstance(outcome.error, users.SeatLimitConfirmationNeeded):
        raise click.ClickException(f"{outcome.message} Add --over-seat-limit to create the account anyway.")
    if not outcome.ok:
        raise click.ClickException(outcome.message)
    user = outcome.value
    click.echo(f"Created {user.email} ({user.role}).")
