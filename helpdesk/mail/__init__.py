"""Mail: the outbox and its delivery worker, composition of every notification, inbound mail
(replies and new tickets, by pipe or IMAP) and the mail admin pages.
"""

from flask import url_for

from helpdesk import events, policy
from helpdesk.web import layout_count, register_admin_section, register_layout_count, register_top_link


def held_mail_link(user):
    """ "Held mail (n)" in an admin's top bar while inbound mail waits for their review."""
    if not policy.is_admin(user):
        return []
    count = layout_count("held_mail")
    if not count:
        return []
    return [{"label": f"Held mail ({count})", "url": url_for("mail_admin.inbound", outcome="unverified")}]


def init_app(app):
    from helpdesk.mail import admin, erasure, logs, receivers
    from helpdesk.mail.cli import mail_group, worker_command

    app.register_blueprint(admin.bp, url_prefix="/admin/mail")
    register_admin_section(
        app,
        "Mail",
        "mail_admin.outbox",
        "The outbox (and the development mailbox), failed mail with retry, mail received.",
        order=70,
        blueprint="mail_admin",
    )
    register_layout_count(app, "held_mail", policy.is_admin, logs.unverified_count_query)
    register_top_link(app, held_mail_link, order=20)
    app.cli.add_command(worker_command)
    app.cli.add_command(mail_group)
    receivers.connect()
    events.personal_data_erased.connect(erasure.erase)
