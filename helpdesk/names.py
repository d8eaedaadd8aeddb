"""Unique display names (categories, organizations): spacing folded, unique ignoring case."""

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db


def _article(noun):
    return "an" if noun[0] in "aeiou" else "a"


def clean_unique_name(model, name, *, noun, max_length, exclude_id=None):
    """The name with its spacing folded. Raises ValidationFailed when it is empty, too long, or
    already used by another row of `model` (compared ignoring case)."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed(f"Enter {_article(noun)} {noun} name.")
    if len(name) > max_length:
        raise ValidationFailed(f"Use at most {max_length} characters.")
    query = select(model.id).where(func.lower(model.name) == name.lower())
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise ValidationFailed(f"{_article(noun).capitalize()} {noun} named “{name}” already exists.")
    return name


def save_unique_name(item, name, *, noun):
    """Write the name in a savepoint, so a concurrent request that took it first is a clear error."""
    try:
        with db.session.begin_nested():
            item.name = name
            db.session.add(item)
    except IntegrityError as exc:
        raise ValidationFailed(
            f"{_article(noun).capitalize()} {noun} named “{name}” already exists."
        ) from exc
