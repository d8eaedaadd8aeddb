"""Core pages that belong to no domain: the start page, the health check and the admin home."""


def init_app(app):
    from helpdesk.core import admin, views

    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp, url_prefix="/admin")
    # Admins reach the admin home and its sections from the console's sidebar
    # (web.admin_sections, _partials/admin_sections.html).
