"""Writes that race (PostgreSQL): editors saving one article at once from the same version, and a
user created by retries sent at once with one Idempotency-Key."""

import pytest
from sqlalchemy import func, select

from helpdesk.accounts.models import User
from helpdesk.extensions import db
from helpdesk.kb.models import Revision

from ..kb_support import fresh, write
from .api_support import bearer
from .test_api_races import THREADS, together

pytestmark = [pytest.mark.postgres_only, pytest.mark.committing]


def test_edits_sent_at_once_from_one_version_save_one_revision(app, desk):
    article = write(desk.tech_it, desk.it, "Raced article")
    article_id, seen = article.id, f'"{article.version}"'  # read here: the threads have no app context
    headers = [bearer(desk.tech_it) for _ in range(THREADS)]
    counter = iter(range(THREADS))

    def send(client):
        n = next(counter)
        answer = client.patch(
            f"/api/v1/kb/articles/{article_id}",
            json={"body": f"Version by editor {n}."},
            headers=headers[n] | {"If-Match": seen},
        )
        return answer.status_code, answer.get_json()

    answers = together(app, send)
    statuses = sorted(status for status, _ in answers)
    assert statuses.count(200) == 1 and set(statuses) <= {200, 409, 412}
    [winner] = [body for status, body in answers if status == 200]
    revisions = db.session.scalars(select(Revision).where(Revision.article_id == article_id)).all()
    assert len(revisions) == 2 and fresh(article_id).body == winner["body"]


def test_one_key_sent_at_once_makes_one_user(app, desk):
    headers = bearer(desk.admin) | {"Idempotency-Key": "user-burst"}
    data = {"email": "burst@example.com", "name": "Burst"}

    def send(client):
        answer = client.post("/api/v1/users", json=data, headers=headers)
        return answer.status_code, answer.get_json()

    answers = together(app, send)
    assert {status for status, _ in answers} == {201}
    assert len({body["user"]["id"] for _, body in answers}) == 1
    assert db.session.scalar(select(func.count(User.id)).where(User.email == "burst@example.com")) == 1


def test_one_address_created_at_once_without_a_key_makes_one_user_and_clear_refusals(app, desk):
    """No Idempotency-Key: the creates are different requests for one address. One wins; the
    others are told the address is taken (422 naming the field), never a 500."""
    headers = bearer(desk.admin)
    data = {"email": "twice@example.com", "name": "Twice", "password": "a long passphrase 42"}

    def send(client):
        answer = client.post("/api/v1/users", json=data, headers=headers)
        return answer.status_code, answer.get_json()

    answers = together(app, send)
    statuses = sorted(status for status, _ in answers)
    assert statuses.count(201) == 1 and set(statuses) == {201, 422}, statuses
    for status, body in answers:
        if status == 422:
            assert "already exists" in str(body)
    assert db.session.scalar(select(func.count(User.id)).where(User.email == "twice@example.com")) == 1
