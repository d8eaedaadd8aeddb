"""Report pages for agents and admins (policy.can_see_reports): charts, tables and CSV downloads."""

from flask import Blueprint, abort, request
from flask_login import current_user

from helpdesk import policy
from helpdesk.access import require
from helpdesk.charts import report_charts
from helpdesk.htmx import render_page_or_block
from helpdesk.reports import build, downloads
from helpdesk.reports import metrics as reports
from helpdesk.reports.format import format_cell
from helpdesk.reports.forms import ReportFilterForm

bp = Blueprint("reports", __name__)


def reports_nav(user):
    return [("Reports", "reports.index")] if policy.can_see_reports(user) else []


@bp.get("", endpoint="index")
@require(policy.can_see_reports)
def index():
    form = ReportFilterForm(request.args)
    form.set_categories(reports.report_categories(current_user))
    default = reports.default_filter()
    flt = form.chosen(default)
    if request.args.get("format") == "csv":
        return _csv_download(form, flt, request.args.get("table"))
    report = build.build_report(current_user, flt)
    return render_page_or_block(
        "reports/index.html",
        "report_body",
        form=form,
        report=report,
        charts=report_charts(report),
        fmt=format_cell,
    )


def _csv_download(form, flt, name):
    if name not in build.TABLES:
        abort(404)
    if form.errors:
        return downloads.refused(form)
    return downloads.download("report", build.build_table(current_user, flt, name), flt)
