"""Accounts: users, organizations, sign-in, technician category permissions and agent seats.

Owns the rules of who a user is (authentication, roles, organizations); `policy.py` decides
what they may see. Lowest domain: it imports no other.
"""

from helpdesk import policy
from helpdesk.web import register_admin_section, register_banner, register_layout_count


def init_app(app):
    from helpdesk.accounts import (  # noqa: F401  (their views attach to the blueprints)
        admin_erasure,
        admin_organizations,
        admin_permissions,
        admin_users,
        cli,
        views,
        views_security,
    )
    from helpdesk.accounts.banners import seat_banner
    from helpdesk.accounts.blueprints import admin_bp, bp
    from helpdesk.accounts.seats import seats_used_query
    from helpdesk.accounts.sessions import require_two_factor_setup

    app.register_blueprint(bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    # Before every other hook: roles in REQUIRE_2FA set it up first.
    app.before_request(require_two_factor_setup)
    register_banner(app, seat_banner)
    register_layout_count(app, "seats_used", policy.is_agent, lambda: seats_used_query().scalar_subquery())
    register_admin_section(
        app,
        "People",
        "accounts_admin.users",
        "Users and their roles, deactivation, agent seats.",
        order=10,
        endpoints=("accounts_admin.users", "accounts_admin.user"),
    )
    register_admin_section(
        app,
        "Organizations",
        "accounts_admin.organizations_page",
        "Companies, their members and managers, shared credit banks.",
        order=20,
        endpoints=("accounts_admin.organizations_page", "accounts_admin.organization"),
    )
    register_admin_section(
        app,
        "Permissions",
        "accounts_admin.permissions",
        "Which technicians work which categories' tickets.",
        order=35,
    )
    app.cli.add_command(cli.create_user_command)
