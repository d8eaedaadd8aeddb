"""Mail commands: `flask worker` delivers the outbox; `flask mail ingest|poll` takes mail in. Thin."""

import sys

import click


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit (for cron).")
@click.option("--interval", default=10.0, show_default=True, help="Seconds to sleep when nothing is due.")
def worker_command(once, interval):
    """Deliver queued e-mail over SMTP (and webhooks), retrying with backoff."""
    from helpdesk.mail.delivery import run_worker

    try:
        run_worker(once=once, interval=interval, echo=click.echo)
    except KeyboardInterrupt:
        click.echo("worker stopped")


@click.group("mail")
def mail_group():
    """Inbound e-mail."""


@mail_group.command("ingest")
def ingest_command():
    """Read one RFC 5322 message from standard input (MTA pipe) and process it.

    Exits 75 (EX_TEMPFAIL, the MTA retries later) only when the message could not even be logged.
    """
    from helpdesk.mail.inbound import ingest

    raw = sys.stdin.buffer.read()
    try:
        entry = ingest(raw)
    except Exception as exc:
        click.echo(f"could not store the message: {exc}", err=True)
        sys.exit(75)
    click.echo(f"{entry.outcome}" + (f" ticket #{entry.ticket_id}" if entry.ticket_id else ""))


@mail_group.command("poll")
def poll_command():
    """Fetch new mail from the IMAP mailbox; delete only what was stored."""
    import imaplib

    from helpdesk.mail.imap import poll

    try:
        stored = poll()
    except (RuntimeError, OSError, imaplib.IMAP4.error) as exc:
        raise click.ClickException(f"IMAP poll failed: {exc}") from exc
    if stored is None:
        click.echo("Another mail poll is running (on this server or another): it fetches the mail.")
        return
    click.echo(f"{stored} message(s) processed")
