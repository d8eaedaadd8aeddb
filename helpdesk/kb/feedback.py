"""'Was this helpful? Yes / No': one vote per signed-in user, or per browser for visitors.

Voting again changes the vote (and a 'yes' drops the comment a 'no' carried); a visitor who
signs in and votes again on that browser changes their visitor's vote, which becomes theirs. A 'no' may carry
a comment for the authors, which they read with the votes (policy.can_see_kb_feedback). Votes
are counted with one upsert, so a double click or two tabs at once still make one vote.
"""

import re

from sqlalchemy import func, select

from helpdesk import policy
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.kb.models import Vote
from helpdesk.querying import upsert_insert

MAX_COMMENT = 2000
BROWSER_KEY = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _voter(user, browser_key):
    """(column values, conflict columns) naming the voter: the user when signed in, else the browser."""
    if user is not None and user.is_authenticated:
        return {"user_id": user.id, "browser_key": None}, ["article_id", "user_id"]
    if not BROWSER_KEY.match(browser_key or ""):
        raise ValidationFailed("Your browser did not keep our cookie: allow cookies for this site to vote.")
    return {"user_id": None, "browser_key": browser_key}, ["article_id", "browser_key"]


def vote(article, *, user, browser_key, helpful):
    """Record (or change) this reader's vote. Guarantees: only readers of a published article
    (policy.can_vote_on_article); one vote per user or browser; a 'yes' clears any comment."""
    if not policy.can_vote_on_article(user, article):
        raise NotAllowed("You cannot vote on this article.")
    who, conflict = _voter(user, browser_key)
    now = utcnow()
    if who["user_id"] is not None:
        _adopt_browser_vote(article, user, browser_key)
    table = Vote.__table__
    insert = upsert_insert(db.session.get_bind().dialect.name)
    changes = {"helpful": bool(helpful), "updated_at": now}
    if helpful:
        changes["comment"] = None
    statement = (
        insert(table)
        .values(article_id=article.id, helpful=bool(helpful), created_at=now, updated_at=now, **who)
        .on_conflict_do_update(index_elements=[table.c[name] for name in conflict], set_=changes)
    )
    db.session.execute(statement)
    return vote_of(article, user=user, browser_key=browser_key)


def _adopt_browser_vote(article, user, browser_key):
    """A reader who voted as a visitor and then signed in on that browser is one reader: their
    browser's vote becomes theirs (the vote about to be cast updates it), or goes if they had voted
    as themselves already, instead of counting twice."""
    if not BROWSER_KEY.match(browser_key or ""):
        return
    theirs = db.session.scalar(select(Vote.id).where(Vote.article_id == article.id, Vote.user_id == user.id))
    browser = Vote.__table__
    found = (
        browser.c.article_id == article.id,
        browser.c.browser_key == browser_key,
        browser.c.user_id.is_(None),
    )
    if theirs is None:
        db.session.execute(browser.update().where(*found).values(user_id=user.id, browser_key=None))
    else:
        db.session.execute(browser.delete().where(*found))


def comment(article, *, user, browser_key, text):
    """Add the reader's comment to their 'no' vote. Guarantees: a 'no' vote of theirs exists; the
    comment is not empty and at most MAX_COMMENT characters."""
    if not policy.can_vote_on_article(user, article):
        raise NotAllowed("You cannot comment on this article.")
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("Write what you were looking for, or leave it.")
    if len(text) > MAX_COMMENT:
        raise ValidationFailed(f"Use at most {MAX_COMMENT:,} characters.")
    current = vote_of(article, user=user, browser_key=browser_key)
    if current is None or current.helpful:
        raise ValidationFailed("Answer 'No' first: comments go with a 'not helpful' vote.")
    current.comment = text
    current.updated_at = utcnow()
    db.session.flush()
    return current


def vote_of(article, *, user, browser_key):
    """The reader's vote on the article, or None."""
    if user is not None and user.is_authenticated:
        condition = Vote.user_id == user.id
    elif BROWSER_KEY.match(browser_key or ""):
        condition = Vote.browser_key == browser_key
    else:
        return None
    return db.session.scalar(
        select(Vote).where(Vote.article_id == article.id, condition).execution_options(populate_existing=True)
    )


def totals(article):
    """(helpful, not helpful) votes on the article."""
    rows = dict(
        db.session.execute(
            select(Vote.helpful, func.count()).where(Vote.article_id == article.id).group_by(Vote.helpful)
        ).all()
    )
    return int(rows.get(True, 0)), int(rows.get(False, 0))


def feedback_query(article):
    """A SELECT of the article's votes, those with comments first, newest first (paginated by the page)."""
    return (
        select(Vote)
        .where(Vote.article_id == article.id)
        .order_by(Vote.comment.is_(None), Vote.updated_at.desc(), Vote.id.desc())
    )
