"""Outbound webhooks: endpoints admins register, deliveries written with the events that cause
them and sent signed by the outbox worker (`flask worker`), a delivery log with redelivery.
Listens to the other domains' events; nothing depends on it."""

from helpdesk import events
from helpdesk.web import register_admin_section


def init_app(app):
    from helpdesk.mail.delivery import register_worker_job
    from helpdesk.webhooks import admin, dispatch, erasure, models  # noqa: F401  (models for the metadata)
    from helpdesk.webhooks.cli import webhooks_group
    from helpdesk.webhooks.delivery import process_due

    app.register_blueprint(admin.bp, url_prefix="/admin/webhooks")
    register_admin_section(
        app,
        "Webhooks",
        "webhooks_admin.index",
        "Endpoints that receive signed events (tickets, messages, credits, payments), their delivery log.",
        order=75,
        blueprint="webhooks_admin",
    )
    register_worker_job(app, process_due)
    app.cli.add_command(webhooks_group)
    dispatch.connect()
    events.personal_data_erased.connect(erasure.erase)
