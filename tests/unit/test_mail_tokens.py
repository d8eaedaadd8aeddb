"""Reply addresses: one per recipient, signed, carrying their issue time; the old shared form is
recognised as naming a ticket only; nothing malformed raises."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk.mail.tokens import legacy_reply_address, parse_reply_address, reply_address

ISSUED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def test_a_personal_address_names_ticket_recipient_and_issue_time(app):
    addr = reply_address(42, 7, ISSUED)
    assert addr.startswith("support+t42.") and addr.endswith("@helpdesk.example")
    assert len(addr.partition("@")[0]) <= 64  # RFC 5321's limit on a local part
    token = parse_reply_address(addr)
    assert (token.ticket_id, token.valid, token.user_id, token.issued_at) == (42, True, 7, ISSUED)
    assert parse_reply_address(addr.upper()) == token  # some systems fold the case of addresses


def test_each_recipient_gets_another_address(app):
    assert reply_address(42, 7, ISSUED) != reply_address(42, 8, ISSUED)


@pytest.mark.parametrize(
    "change",
    [
        lambda a: a.replace("+t42.", "+t43."),  # another ticket
        lambda a: a.replace(".7.", ".8.", 1),  # another recipient
        lambda a: a.replace(a.split(".")[2], "zzzzzz", 1),  # another issue time
        lambda a: a.replace(a.split(".")[3][:4], "0000", 1),  # another signature
    ],
)
def test_a_changed_address_is_forged(app, change):
    forged = change(reply_address(42, 7, ISSUED))
    token = parse_reply_address(forged)
    assert token is not None and not token.valid and token.user_id is None


def test_expiry_follows_mail_reply_token_days(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_REPLY_TOKEN_DAYS", 90)
    token = parse_reply_address(reply_address(42, 7, ISSUED))
    assert not token.expired(ISSUED + timedelta(days=89))
    assert token.expired(ISSUED + timedelta(days=91))


def test_the_old_shared_form_names_the_ticket_only(app):
    token = parse_reply_address(legacy_reply_address(42))
    assert (token.ticket_id, token.valid, token.personal) == (42, True, False)
    assert not token.expired(ISSUED + timedelta(days=10_000))  # it has no issue time: see inbound


def test_addresses_not_of_ours_are_not_reply_addresses(app):
    addr = reply_address(42, 7, ISSUED)
    assert parse_reply_address(addr.replace("@helpdesk.example", "@other.test")) is None
    assert parse_reply_address(addr.replace("support+", "sales+")) is None
    assert parse_reply_address("someone@example.test") is None


@given(st.text(max_size=200))
def test_no_text_makes_the_parser_raise(app, text):
    parse_reply_address(text)
    parse_reply_address(f"support+t1.{text}@helpdesk.example")
