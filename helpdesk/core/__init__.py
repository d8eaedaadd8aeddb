"""Core pages that belong to no domain: the start page, the health check and the admin home."""

from helpdesk import policy
from helpdesk.web import register_nav


def admin_nav(user):
    return [("Admin", "admin.index")] if policy.can_administer(user) else []


def init_app(app):
    from helpdesk.core import admin, views

    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp, url_prefix="/admin")
    register_nav(app, admin_nav, order=80)
