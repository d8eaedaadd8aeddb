"""`flask credits ...`: ledger verification, monthly allowances and the SLA sweep (cron-safe)."""

import click
from flask.cli import AppGroup

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db

credits_cli = AppGroup("credits", help="Credit banks: verify the ledger, grant allowances, SLA refunds.")


@credits_cli.command("verify")
def verify_command():
    """Check every balance (and running balance) equals the sum of its entries, and every ticket's
    paid credits its charges net of refunds; exit 1 on a mismatch."""
    from helpdesk.credits.ledger import ledger_mismatches, paid_credit_mismatches, running_balance_mismatches
    from helpdesk.credits.ledger_guard import missing_triggers

    mismatches = ledger_mismatches()
    for account_id, stored, summed in mismatches:
        click.echo(f"bank {account_id}: stored balance {stored}, ledger sum {summed}", err=True)
    running = running_balance_mismatches()
    for entry_id, stored, summed in running:
        click.echo(f"entry {entry_id}: balance after {stored}, running sum {summed}", err=True)
    paid = paid_credit_mismatches()
    for ticket_id, stored, summed in paid:
        click.echo(f"ticket {ticket_id}: paid credits {stored}, charges net of refunds {summed}", err=True)
    missing = missing_triggers(db.session.connection())
    for trigger in missing:
        click.echo(f"trigger {trigger} is missing: ledger entries could be changed or deleted", err=True)
    if mismatches or running or paid or missing:
        raise SystemExit(1)
    click.echo(
        "Ledger OK: every balance equals the sum of its entries, every running balance too, every "
        "ticket's paid credits its charges net of refunds, and the database refuses to change entries."
    )


@credits_cli.command("allowance")
@click.option("--period", help="YYYY-MM (default: the current month, UTC).")
def allowance_command(period):
    """Grant each bank its monthly allowance once per period (idempotent), under the rollover cap."""
    from helpdesk.credits import allowances as credit_allowances

    period = period or credit_allowances.period_of(utcnow())
    granted = 0
    for account_id in credit_allowances.allowance_accounts():
        if credit_allowances.grant_allowance(account_id, period) is not None:
            granted += 1
        db.session.commit()  # one bank per transaction: a long run holds no lock for long
    click.echo(f"Allowance {period}: {granted} bank(s) granted.")


@credits_cli.command("sla-sweep")
def sla_sweep_command():
    """Pay the guarantee on paid tickets whose targets passed, warn about those at risk (idempotent;
    run it every few minutes)."""
    from helpdesk.credits.guarantee import sla_sweep

    result = sla_sweep(commit_each=True)
    db.session.commit()
    click.echo(f"SLA sweep: {len(result.refunds)} refund(s), {len(result.warnings)} at-risk warning(s).")
