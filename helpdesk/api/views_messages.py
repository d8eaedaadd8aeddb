"""/api/v1/tickets/<id>/messages and /api/v1/attachments/<id>: the conversation, replies and
notes (with files, through the pages' upload checks), and downloads through the policy."""

from flask import abort, current_app, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from helpdesk import policy
from helpdesk.api import schemas
from helpdesk.api.answers import create, keyset_page
from helpdesk.api.blueprints import api
from helpdesk.api.problems import ApiProblem
from helpdesk.api.routing import respond
from helpdesk.api.views_tickets import named, visible_ticket
from helpdesk.errors import NotFound, StorageError
from helpdesk.extensions import db
from helpdesk.tickets import editing, lifecycle, uploads
from helpdesk.tickets.models import SOURCE_CREDITS, Attachment, Message

READ, WRITE = ("tickets", "read"), ("tickets", "write")


def message_out(message):
    return schemas.MessageOut(
        id=message.id,
        sequence=message.sequence,
        author=named(message.author),
        body=message.body,
        internal=message.internal,
        source=message.source,
        created_at=message.created_at,
        attachments=[
            schemas.AttachmentOut(
                id=a.id,
                filename=a.filename,
                content_type=a.content_type,
                size=a.size,
                url=url_for("api.download_attachment", attachment_id=a.id),
            )
            for a in message.attachments
        ],
    )


@api.route(
    "/tickets/<int:ticket_id>/messages",
    summary="List a ticket's messages",
    tag="messages",
    scope=READ,
    query=schemas.MessagePageQuery,
    response=schemas.MessageList,
    errors=(404, 422),
)
def list_messages(ticket_id, query):
    """The conversation, a page at a time; internal notes only for agents. By id with `after`
    (oldest first), or, with `after_sequence`, in the order the messages reached the ticket: what
    a client that polls for new messages follows, since a duplicate merged into the ticket brings
    messages whose ids are older than the ones it read (their sequences are newer)."""
    ticket = visible_ticket(ticket_id)
    by_sequence = query.after_sequence is not None
    if by_sequence and query.after:
        message = "Give after_sequence or after, not both."
        raise ApiProblem(422, message, errors=[{"field": "after_sequence", "message": message}])
    statement = (
        select(Message)
        .where(Message.ticket_id == ticket.id)
        .options(editing.person(Message.author), selectinload(Message.attachments))
    )
    if by_sequence:
        statement = statement.where(Message.sequence > query.after_sequence).order_by(Message.sequence)
    else:
        statement = statement.where(Message.id > query.after).order_by(Message.id)
    if not policy.can_see_internal(current_user, ticket):
        statement = statement.where(Message.internal.is_(False))
        if not policy.can_see_ticket_charges(current_user, ticket):  # what the requester paid
            statement = statement.where(Message.source != SOURCE_CREDITS)
    items, following = keyset_page(
        statement, query, message_out, "api.list_messages", ticket_id=ticket.id,
        **({"key": lambda item: item.sequence, "cursor": "after_sequence"} if by_sequence else {}),
    )  # fmt: skip
    return respond(schemas.MessageList(items=items, next=following))


def _files():
    files = [(f.filename, f.read()) for f in request.files.getlist("files") if f and f.filename]
    most = current_app.config["UPLOAD_MAX_FILES"]
    if len(files) > most:
        message = f"At most {most} files can be sent at once."
        raise ApiProblem(422, message, errors=[{"field": "files", "message": message}])
    return files


@api.route(
    "/tickets/<int:ticket_id>/messages",
    "POST",
    summary="Reply, or add an internal note",
    tag="messages",
    scope=WRITE,
    body=schemas.MessageCreate,
    multipart=True,
    response=schemas.MessageCreated,
    status=201,
    errors=(400, 403, 404, 413, 415, 422),
    request_headers={"Idempotency-Key": (False, "Retries with the same key and body get the first answer.")},
)
def post_message(ticket_id, body):
    """A public reply, or (agents) an internal note, through the pages' service: the same status
    rules (an agent's first reply answers the ticket) and upload checks. Send JSON, or
    multipart/form-data with `body`, `internal` and files in `files`."""
    ticket = visible_ticket(ticket_id)
    files = _files()
    actor = current_user._get_current_object()

    def service(key):
        return lifecycle.add_message(
            ticket, actor, body.body, internal=body.internal, files=files, staging_key=key
        )

    def render(message):
        db.session.refresh(message, ["attachments"])
        answer = schemas.MessageCreated(created=True, message=message_out(message))
        return answer, 201, url_for("api.list_messages", ticket_id=ticket.id)

    return create(service, render, payload=body.model_dump(), files=files)


@api.route(
    "/attachments/<int:attachment_id>",
    summary="Download an attachment",
    tag="messages",
    scope=READ,
    binary=True,
    errors=(404, 503),
)
def download_attachment(attachment_id):
    """The file, after the policy's check (an internal note's files only for agents)."""
    item = db.session.get(Attachment, attachment_id)
    if item is None or item.ticket_id is None or not policy.can_download_attachment(current_user, item):
        abort(404)
    return send_attachment(item)


def send_attachment(item):
    """A stored file as a download, never cached (404 when it is missing, 503 when the store does
    not answer); also the knowledge base's files (views_article_files)."""
    try:
        stored = uploads.open_stored(item)
    except NotFound:
        abort(404)
    except StorageError as exc:
        raise ApiProblem(503, str(exc), headers={"Retry-After": "30"}) from exc
    response = send_file(
        stored.stream, mimetype=item.content_type, as_attachment=True, download_name=item.filename, max_age=0
    )
    response.content_length = stored.size
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
