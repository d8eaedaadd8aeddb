"""A whole report, or one of its tables by name: the volumes and times of reports.metrics and
the service-level tables of reports.service_levels, in display order."""

from helpdesk.dbtypes import utcnow
from helpdesk.reports import metrics, service_levels

TABLES = ("daily", "categories", "priorities", "times", "compliance", "payouts", "distribution", "backlog")


def build_table(actor, flt, name, now=None):
    """One table of the report by name (one of TABLES), e.g. for its CSV download."""
    now = now or utcnow()
    if name == "compliance":
        return service_levels.compliance_table(actor, flt, now)
    if name == "payouts":
        return service_levels.payouts_table(actor, flt)
    if name == "distribution":
        return service_levels.distribution_table(actor, flt)
    if name == "backlog":
        return metrics.backlog_table(actor, flt, now)
    builders = {
        "daily": metrics.daily_table,
        "categories": metrics.category_table,
        "priorities": metrics.priority_table,
        "times": metrics.times_table,
    }
    return builders[name](actor, flt)


def build_report(actor, flt, now=None):
    """Every table of the report for `actor` over `flt` (about a dozen queries, none per row)."""
    now = now or utcnow()
    tables = {name: build_table(actor, flt, name, now) for name in TABLES}
    daily = tables["daily"].rows
    totals = {
        "opened": sum(r[1] for r in daily),
        "resolved": sum(r[2] for r in daily),
        "backlog": sum(r[1] for r in tables["backlog"].rows),
    }
    return metrics.Report(filter=flt, tables=tables, totals=totals)
