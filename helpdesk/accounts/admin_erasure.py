"""Admin view: erase a customer's personal data on request (GDPR right to erasure), from their
user page, after "Confirm it's you" and a question that says exactly what happens."""

from flask import abort, url_for
from flask_login import current_user

from helpdesk.accounts import erasure
from helpdesk.accounts.admin_users import _no_manager_warning, _render_user, _saved, _user_or_404
from helpdesk.accounts.blueprints import admin_bp as bp
from helpdesk.accounts.forms import EraseForm
from helpdesk.accounts.reauth import recent_authentication
from helpdesk.actions import perform
from helpdesk.confirming import ask_first
from helpdesk.tickets import erasure as ticket_erasure
from helpdesk.web import counted


@bp.post("/users/<int:user_id>/erase")
@recent_authentication
def erase_personal_data(user_id):
    target = _user_or_404(user_id)
    if not EraseForm().validate_on_submit():  # no fields but the CSRF token
        abort(400)
    refused = erasure.refusal(current_user, target)
    if refused:
        return _render_user(target, erase_error=refused, status=422)
    asked = ask_first(
        f"Erase the personal data of {target.name}?",
        consequence(target),
        "Erase their personal data",
        cancel_url=url_for("accounts_admin.user", user_id=target.id),
        warning=_no_manager_warning(target),
    )
    if asked:
        return asked
    outcome = perform(erasure.erase_customer, current_user, target)
    if not outcome.ok:
        return _render_user(target, erase_error=outcome.message, status=422)
    return _saved(
        target,
        f"Erased: the personal data of customer #{target.id} is gone, and the account is deactivated "
        "for good. The history records that you did it.",
    )


def consequence(user):
    """What erasing `user`'s personal data does, in the numbers of their own rows."""
    reach = ticket_erasure.reach(user)
    if reach.tickets == 1:
        opened = (
            "The ticket they opened keeps its number, dates, category, priority, status and charges "
            "(reports and the credit ledger still count it), but its subject becomes “[erased]” and "
            "the text of every message on it, agents' replies included, is removed."
        )
    elif reach.tickets:
        opened = (
            f"The {counted(reach.tickets, 'ticket')} they opened keep their numbers, dates, category, "
            "priority, status and charges (reports and the credit ledger still count them), but their "
            "subjects become “[erased]” and the text of every message on them, agents' replies "
            "included, is removed."
        )
    else:
        opened = "They opened no ticket."
    elsewhere = files = following = ""
    if reach.messages_elsewhere:
        verb = "is" if reach.messages_elsewhere == 1 else "are"
        elsewhere = (
            f" Their {counted(reach.messages_elsewhere, 'message')} on other tickets {verb} removed likewise."
        )
    if reach.files:
        verb = "is" if reach.files == 1 else "are"
        files = f" {counted(reach.files, 'file')} on those tickets or sent by them {verb} deleted."
    if reach.following:
        following = f" They stop following {counted(reach.following, 'ticket')}."
    return (
        "This cannot be undone. "
        f"{user.name}'s account is deactivated for good and renamed “{erasure.erased_name(user)}” "
        f"({erasure.erased_email(user)}): they can no longer sign in, and every session, link and API "
        f"token of theirs ends. {opened}{elsewhere}{files}{following} Mail received from them or sent "
        "to them, their drafts, the comments of their votes on articles, the notices and webhook "
        "deliveries about them and their Stripe customer and card references are deleted; payments "
        "and the credit ledger keep their amounts. Mail from "
        f"{user.email} afterwards comes from an unknown sender, like a new customer's. The history "
        "records that you erased their personal data, and nothing about them."
    )
