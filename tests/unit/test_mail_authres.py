"""Authentication-Results (RFC 8601): only our MTA's fields count, a failure outweighs a pass,
alignment with the From domain is required, and nothing malformed raises."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk.mail.authres import parse_field, verdict

MX = "mx.helpdesk.example"


def test_a_full_field_with_comments_versions_and_quotes_is_read():
    authserv, results = parse_field(
        "MX.Helpdesk.Example 1; spf=pass (sender SPF authorized) smtp.mailfrom=example.com;"
        ' dkim/1 = pass (2048-bit key) header.d=Example.com header.i="@example.com";'
        " dmarc=pass (p=reject dis=none) header.from=example.com"
    )
    assert authserv == MX
    assert [(r.method, r.result) for r in results] == [("spf", "pass"), ("dkim", "pass"), ("dmarc", "pass")]
    assert results[1].properties == {"header.d": "example.com", "header.i": "@example.com"}


def test_no_result_is_read_as_nothing():
    assert parse_field(f"{MX}; none") == (MX, [])


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ([f"{MX}; dmarc=pass header.from=example.com"], "pass"),
        ([f"{MX}; dmarc=fail (p=reject) header.from=example.com"], "fail"),
        ([f"{MX}; dmarc=pass header.from=example.com", f"{MX}; dmarc=fail header.from=example.com"], "fail"),
        ([f"{MX}; dmarc=pass header.from=elsewhere.com"], "none"),  # about another From
        ([f"{MX}; dmarc=none; dkim=pass header.d=example.com"], "pass"),  # aligned DKIM, no policy
        ([f"{MX}; dkim=pass header.d=mail.example.com"], "pass"),  # relaxed alignment
        ([f"{MX}; dkim=pass header.d=evil.test"], "none"),  # signed, but not by the From domain
        ([f"{MX}; dkim=pass header.d=com"], "none"),  # a bare top-level name aligns nothing
        ([f"{MX}; spf=pass smtp.mailfrom=bounce@example.com"], "pass"),
        ([f"{MX}; spf=pass smtp.mailfrom=bounce@evil.test"], "none"),
        ([f"{MX}; dmarc=temperror"], "none"),
        ([], "none"),
        (["evil.test; dmarc=pass header.from=example.com"], "none"),  # another authserv-id
        ([f"{MX}.evil.test; dmarc=pass header.from=example.com"], "none"),
        ([f"(comment) {MX}; dmarc=pass"], "pass"),
    ],
)
def test_verdict(fields, status):
    assert verdict(fields, MX, "alice@example.com").status == status


def test_a_field_from_another_server_never_outweighs_ours():
    fields = ["evil.test; dmarc=pass header.from=example.com", f"{MX}; dmarc=fail header.from=example.com"]
    result = verdict(fields, MX, "alice@example.com")
    assert result.status == "fail" and MX in result.detail


def test_without_a_trusted_id_nothing_is_trusted():
    result = verdict([f"{MX}; dmarc=pass"], None, "alice@example.com")
    assert result.status == "none" and "MAIL_TRUSTED_AUTHSERV_ID" in result.detail


@pytest.mark.parametrize(
    "field",
    ["", ";", "(((", ")))", '"', "=;=;=", f"{MX}; =pass", f"{MX}; dmarc=", f'{MX}; dmarc=" "', "\udcff\x00;"],
)
def test_garbage_is_read_as_nothing(field):
    assert verdict([field], MX, "alice@example.com").status == "none"


@given(st.lists(st.text(max_size=300), max_size=5), st.text(max_size=50))
def test_no_input_makes_the_verdict_raise(fields, sender):
    assert verdict(fields, MX, sender).status in ("pass", "fail", "none")
