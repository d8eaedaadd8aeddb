"""The knowledge-base report page (/agent/reports/kb): deflections, top articles, unanswered searches; CSV per table."""

from flask import abort, request
from flask_login import current_user

from helpdesk import policy
from helpdesk.access import require
from helpdesk.htmx import render_page_or_block
from helpdesk.reports import downloads, knowledge
from helpdesk.reports import metrics as reports
from helpdesk.reports.agent import bp
from helpdesk.reports.format import format_cell
from helpdesk.reports.forms import ReportFilterForm


@bp.get("/kb", endpoint="knowledge_base")
@require(policy.can_see_reports)
def knowledge_base():
    form = ReportFilterForm(request.args)
    form.set_categories(reports.report_categories(current_user))
    default = reports.default_filter()
    flt = form.chosen(default)
    if request.args.get("format") == "csv":
        name = request.args.get("table")
        if name not in knowledge.TABLES:
            abort(404)
        if form.errors:
            return downloads.refused(form)
        return downloads.download("kb", knowledge.build_table(current_user, flt, name), flt)
    return render_page_or_block(
        "reports/knowledge.html",
        "report_body",
        form=form,
        flt=flt,
        tables=knowledge.build_report(current_user, flt),
        shown=knowledge.SHOWN,
        fmt=format_cell,
    )
