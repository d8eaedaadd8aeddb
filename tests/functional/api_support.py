"""Helpers for the API's tests: a token for a user, and the problem documents it answers."""

from helpdesk.api import tokens
from helpdesk.extensions import db


def bearer(user, scopes=tokens.SCOPES, days=30):
    """Authorization headers with a new token of `user` (committed: the request reads it)."""
    _token, secret = tokens.create_token(user, name="test", scopes=scopes, days=days)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def is_problem(response, status):
    body = response.get_json(force=True, silent=True) or {}
    return (
        response.status_code == status
        and response.mimetype == "application/problem+json"
        and body.get("status") == status
        and bool(body.get("title"))
    )


def revoke(user, category):
    """Take `category` away from the technician `user`, committed (as the admin's grid does,
    without its side effects): their token's next request sees it."""
    from helpdesk.accounts.models import CategoryPermission

    db.session.execute(
        db.delete(CategoryPermission).where(
            CategoryPermission.user_id == user.id, CategoryPermission.category_id == category.id
        )
    )
    db.session.commit()
