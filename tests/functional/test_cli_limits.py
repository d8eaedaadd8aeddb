"""The cron commands that delete what is older than an age: an age past any date (before the year
1) is refused with a message naming the limit, never a traceback, and nothing is deleted."""

import pytest


@pytest.mark.parametrize(
    "args",
    [
        ["webhooks", "prune", "--days", "1000000"],
        ["uploads", "clean", "--hours", "100000000"],
        ["api", "prune-idempotency", "--hours", "100000000"],
        ["tickets", "auto-close", "--days", "1000000"],
    ],
)
def test_an_age_before_any_date_is_refused_with_the_limit(app, args):
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2, result.output
    assert "is not in the range" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    "setting, args, limit",
    [
        ("UPLOAD_STAGED_MAX_HOURS", ["uploads", "clean"], "876,000"),
        ("API_IDEMPOTENCY_KEEP_HOURS", ["api", "prune-idempotency"], "876,000"),
    ],
)
def test_a_setting_before_any_date_is_refused_with_what_to_set(app, monkeypatch, setting, args, limit):
    monkeypatch.setitem(app.config, setting, 10**9)
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{setting} is 1,000,000,000: set it to at most {limit}" in result.output
