"""Branding: the desk's name (pages' titles and header, the sender of mail), logo and accent colour,
set by admins at /admin/branding and read by every page in the layout's one query."""

from helpdesk.web import register_admin_section, register_layout_count, register_layout_value


class _Desk:
    """`desk` in templates: the branding of this request, read on first use (pages that show no
    layout, htmx fragments, never read it)."""

    def __getattr__(self, name):
        from helpdesk.branding import settings

        return getattr(settings.current(), name)


DESK = _Desk()


def _everyone(_user):
    return True


def init_app(app):
    from helpdesk.branding import admin, settings, views
    from helpdesk.tickets import uploads

    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp, url_prefix="/admin")
    for name, build in settings.LAYOUT_VALUES.items():
        register_layout_count(app, name, _everyone, build)
    register_layout_value(app, "branding", settings.current)
    app.context_processor(lambda: {"desk": DESK})
    uploads.keep_files(settings.kept_logo)
    register_admin_section(
        app,
        "Branding",
        "branding_admin.page",
        "The desk's name, logo and accent colour.",
        order=90,
        blueprint="branding_admin",
    )
