"""Knowledge base: articles in ticket categories (their technicians write them), with revisions,
files, search on both databases, suggestions beside the new-ticket form, feedback, and the
counts the reports read (views, deflections, searches that found nothing).

Readers' pages are under /kb, the agents' under /agent/kb; the report under /agent/reports/kb.
"""

from helpdesk import events
from helpdesk.web import register_nav


def init_app(app):
    from helpdesk.kb import (  # noqa: F401  (their views attach to the blueprints)
        agent,
        agent_revisions,
        agent_ticket,
        erasure,
        files,
        links,
        nav,
        reading,
        views,
        views_article,
    )
    from helpdesk.kb.blueprints import agent_bp, reader_bp
    from helpdesk.tickets import uploads

    app.register_blueprint(reader_bp, url_prefix="/kb")
    app.register_blueprint(agent_bp, url_prefix="/agent/kb")
    register_nav(app, nav.reader_nav, order=15)
    register_nav(app, nav.agent_nav, order=25)
    uploads.keep_files(files.kept_by_articles)
    events.category_renamed.connect(reading.on_category_renamed)
    events.personal_data_erased.connect(erasure.erase)
    app.add_template_global(links.article_url, "kb_article_url")
    app.add_template_global(links.category_url, "kb_category_url")
    app.add_template_global(links.file_url, "kb_file_url")
    app.add_template_global(links.article_page_url, "kb_article_page_url")
    app.add_template_global(links.markdown_link, "markdown_link")

    @app.context_processor
    def kb_visitor_link():
        """The knowledge base's link in the header for visitors who are not signed in (KB_PUBLIC)."""
        return {"kb_visitor_endpoint": nav.visitor_link()}
