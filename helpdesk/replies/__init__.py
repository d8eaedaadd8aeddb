"""Saved replies: text agents insert into replies with placeholders filled in, shared per category
(kept by its technicians and admins) or personal. Pages under /agent/replies; the picker lives in
the ticket page's reply form."""

from helpdesk.web import register_nav


def init_app(app):
    from helpdesk.replies import models, views  # noqa: F401  (models for the metadata, views attach)
    from helpdesk.replies.views import bp, replies_nav

    app.register_blueprint(bp, url_prefix="/agent")
    register_nav(app, replies_nav, order=27)
