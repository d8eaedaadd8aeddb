"""The accounts domain's blueprints: sign-in and profile pages for everyone, and its admin pages."""

from flask import Blueprint

from helpdesk.access import admin_blueprint

bp = Blueprint("accounts", __name__)  # /login, /register, /reset-password, /account
admin_bp = admin_blueprint("accounts_admin", __name__)  # /admin: users, organizations, permissions
