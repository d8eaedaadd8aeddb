"""`flask uploads ...`: housekeeping of the attachment store (cron-safe, idempotent)."""

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from helpdesk.extensions import db

uploads_cli = AppGroup("uploads", help="Attachments in their store: remove abandoned staged files.")


# A hundred years: the cutoff is now less this many hours, and a date before the year 1 does not
# exist (a larger --hours ended in an OverflowError's traceback).
MAX_STAGED_HOURS = 876_000


@uploads_cli.command("clean")
@click.option(
    "--hours",
    type=click.IntRange(min=1, max=MAX_STAGED_HOURS),
    help="Age in hours (default: UPLOAD_STAGED_MAX_HOURS).",
)
def clean_command(hours):
    """Remove files staged with a form that was never sent, once older than a day (files of a
    draft that is still alive stay), and stored files that no attachment names (the upload folder
    or the S3 bucket, whichever the settings name)."""
    from helpdesk.errors import StorageError
    from helpdesk.tickets import upload_cleaning

    hours = hours or current_app.config["UPLOAD_STAGED_MAX_HOURS"]
    if hours > MAX_STAGED_HOURS:
        raise click.ClickException(
            f"UPLOAD_STAGED_MAX_HOURS is {hours:,}: set it to at most {MAX_STAGED_HOURS:,}. Nothing was removed."
        )
    try:
        rows, files = upload_cleaning.clean_staged(older_than=timedelta(hours=hours))
        db.session.commit()
    except StorageError as exc:
        db.session.rollback()
        raise click.ClickException(
            f"{exc} Cleaning stopped part-way (nothing is lost); run it again later."
        ) from exc
    click.echo(f"Removed {rows} staged attachment(s) and {files} file(s) older than {hours} h.")


tickets_cli = AppGroup("tickets", help="Ticket housekeeping (cron-safe, idempotent).")


# A hundred years: before any ticket. The cutoff is today less this many days, and a date before
# the year 1 does not exist (--days 1000000 ended in an OverflowError's traceback).
MAX_AUTO_CLOSE_DAYS = 36_500


@tickets_cli.command("auto-close")
@click.option(
    "--days",
    type=click.IntRange(min=0, max=MAX_AUTO_CLOSE_DAYS),
    help="Days resolved without a change (default: AUTO_CLOSE_DAYS).",
)
def auto_close_command(days):
    """Close tickets resolved at least DAYS days ago with no reply, note or change since (a
    customer's reply reopens a resolved ticket, so these are the ones nobody came back to). Each
    ticket is closed in its own transaction, after locking it: safe beside the app and on
    several machines."""
    from helpdesk.tickets import lifecycle

    source = "AUTO_CLOSE_DAYS" if days is None else "--days"
    days = current_app.config["AUTO_CLOSE_DAYS"] if days is None else days
    if days <= 0:
        click.echo(f"Automatic closing is off ({source} is 0): nothing was closed.")
        return
    if days > MAX_AUTO_CLOSE_DAYS:
        raise click.ClickException(
            f"AUTO_CLOSE_DAYS is {days:,}: set it to at most {MAX_AUTO_CLOSE_DAYS:,} days, or 0 to turn"
            " automatic closing off. Nothing was closed."
        )
    closed = lifecycle.close_quiet_resolved(days, commit=db.session.commit)
    click.echo(f"Closed {closed} ticket(s) resolved more than {days} day(s) ago with nothing since.")


@tickets_cli.command("render-bodies")
@click.option("--all", "everything", is_flag=True, help="Render every body again, not only the missing ones.")
def render_bodies_command(everything):
    """Keep the rendered HTML of ticket descriptions and messages that lack it (written before
    migration 0037), or with --all of every one (after an upgrade of Markdown or nh3). Pages
    render a body without it on every view; with it, never."""
    from helpdesk.tickets.stored_bodies import render_bodies

    done = render_bodies(everything=everything)
    click.echo(f"Rendered {done['tickets']} ticket description(s) and {done['messages']} message(s).")
