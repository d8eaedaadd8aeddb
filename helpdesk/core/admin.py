"""The admin home (/admin/): the sections every domain registers, behind the one admin guard."""

from flask import render_template

from helpdesk.access import admin_blueprint

bp = admin_blueprint("admin", __name__)


@bp.get("/")
def index():
    return render_template("core/admin_home.html")
