"""The admin blueprint: every page is for active admins only (policy.can_administer)."""

from flask import Blueprint, redirect, url_for

from .. import policy
from ..access import require
from ..web import register_nav

bp = Blueprint("admin", __name__)


@bp.before_request
@require(policy.can_administer)
def admins_only():
    """Runs before every admin view: anonymous users log in, everyone else but admins gets 404."""


def _admin_nav(user):
    return [("Admin", "admin.users")] if policy.can_administer(user) else []


@bp.record_once
def _register_nav(state):
    register_nav(state.app, _admin_nav, order=80)


@bp.get("/")
def index():
    return redirect(url_for("admin.users"))
