"""Mail: the outbox and its delivery worker, composition of every notification, inbound mail
(replies and new tickets, by pipe or IMAP) and the mail admin pages.
"""

from helpdesk.web import register_admin_section


def init_app(app):
    from helpdesk.mail import admin, receivers
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
    app.cli.add_command(worker_command)
    app.cli.add_command(mail_group)
    receivers.connect()
