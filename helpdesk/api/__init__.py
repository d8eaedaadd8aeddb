"""The REST API (/api/v1, JSON, bearer tokens) and the personal access token pages.

The top domain: it calls every other domain's services (never their views) and nothing depends
on it. Its views declare their shapes (routing.Api), which also make the OpenAPI document.
"""

from helpdesk.web import register_error_renderer

DEFAULTS = {
    "API_RATE_LIMIT": 600,  # requests per token per window
    "API_RATE_WINDOW_SECONDS": 60,
    "API_IDEMPOTENCY_KEEP_HOURS": 24,  # `flask api prune-idempotency` keeps the answers this long
}


def init_app(app):
    from helpdesk import events
    from helpdesk.api import (  # noqa: F401
        account,
        erasure,
        tokens,
        views_admin,
        views_article_files,
        views_article_revisions,
        views_articles,
        views_credits,
        views_docs,
        views_messages,
        views_people,
        views_tickets,
    )
    from helpdesk.api.blueprints import account_bp, bp
    from helpdesk.api.cli import api_group
    from helpdesk.api.errors import render_error
    from helpdesk.api.sessions import SessionlessApi
    from helpdesk.extensions import csrf

    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    # Exempt from CSRF only because the API never accepts a session cookie (auth.py): a forged
    # cross-site request cannot carry the Authorization header.
    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.register_blueprint(account_bp)
    app.cli.add_command(api_group)
    register_error_renderer(app, "/api/", render_error)  # every address under /api, v1 or not
    # The API ignores the session cookie entirely (before any app-wide hook reads it).
    app.session_interface = SessionlessApi(app.session_interface, "/api/")
    events.account_deactivated.connect(tokens.revoke_all)  # deactivation ends a user's tokens
    events.personal_data_erased.connect(erasure.erase)
