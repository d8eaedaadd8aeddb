"""A revision compared with the current text (kb/diffs.py): difflib's comparison for ordinary
articles, and bounded work for any text the editor accepts (100,000 characters), measured in
steps where it can be (the lines count how often they are looked up), else by a watchdog far
above the time it takes."""

import difflib

import pytest

from helpdesk.kb import diffs
from helpdesk.kb.articles import MAX_BODY
from tests.kb_support import returns_within


class TooMuchWork(Exception):
    pass


class Counted(str):
    """A line that counts its lookups (every dictionary the comparison builds or searches hashes
    it) and stops the comparison past `limit` of them: the old quadratic matcher looked each line
    up once per search, millions of times, for seconds to hours."""

    looked_up = 0
    limit = None

    def __hash__(self):
        Counted.looked_up += 1
        if Counted.limit is not None and Counted.looked_up > Counted.limit:
            raise TooMuchWork(f"more than {Counted.limit:,} lookups")
        return str.__hash__(self)


@pytest.fixture
def counting():
    def with_limit(limit):
        Counted.looked_up, Counted.limit = 0, limit
        return Counted

    yield with_limit
    Counted.looked_up, Counted.limit = 0, None


def lookups_allowed(lines):
    """The work compare may do (its docstring): two budgets of the matcher's steps (diffs.WORK,
    300,000; a step looks one line up), and a few passes over the lines."""
    return 2 * 300_000 + 10 * lines


def paragraphs(count):
    """An article of `count` paragraphs (a blank line between: thousands of equal lines)."""
    lines = []
    for n in range(count):
        lines += [f"Step {n}: check the cable.", ""]
    return lines


def difflib_lines(old, new, context=diffs.CONTEXT):
    """What compare showed before it was bounded: difflib's matcher over the whole texts."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    shown = []
    for group in matcher.get_grouped_opcodes(context):
        for tag, i1, i2, j1, j2 in group:
            shown += [("same" if tag == "equal" else "removed", old[i]) for i in range(i1, i2)]
            shown += [("added", new[j]) for j in range(j1, j2) if tag != "equal"]
    return shown


def test_an_ordinary_article_is_compared_as_before():
    old = diffs.as_text("VPN", "vpn", "\n\n".join(f"Step {n}." for n in range(120)) + "\n\n- a\n- b\n\n- a")
    new_body = "\n\n".join(f"Step {n}." if n % 40 else f"Step {n}, edited." for n in range(120))
    new = diffs.as_text("VPN drops", "vpn", new_body + "\n\n- a\n\n- b\n- a")
    lines = diffs.compare(old, new)
    assert [(line.kind, line.text) for line in lines if line.kind != "gap"] == difflib_lines(old, new)
    assert diffs.changes(lines) == (5, 5)
    assert lines[0] == diffs.Line("removed", "Title: VPN", 1, None)
    assert diffs.compare(old, list(old)) == []


def test_a_long_article_with_many_edits_is_compared_line_by_line_quickly():
    """3,000 paragraphs (85,000 characters), every 50th edited: 49 s before, the matcher walking
    through the 3,000 blank lines for each of them (work the lookups do not count); a few hundredths
    of a second now."""
    old = diffs.as_text("Setup", "", "\n".join(paragraphs(3_000)))
    new = list(old)
    for n in range(3, len(new), 100):
        new[n] = "Edited: " + new[n]
    assert len("\n".join(old)) < MAX_BODY
    with returns_within(10):
        lines = diffs.compare(old, new)
    assert diffs.changes(lines) == (60, 60)
    removed = [x.old_number for x in lines if x.kind == "removed"]
    added = [x.new_number for x in lines if x.kind == "added"]
    assert removed == added == list(range(4, len(old) + 1, 100))  # each edit where it was made
    assert lines[1] == diffs.Line("same", old[1], 2, 2)  # with its context


@pytest.mark.parametrize(
    "old, new",
    [
        (["a", "b"] * 25_000, ["a" if n % 3 else "b" for n in range(50_000)]),  # 43 s for 2,000 lines
        (["a"] * 50_000, ["b"] * 50_000),
        ([chr(33 + n % 90) for n in range(50_000)], [chr(33 + n * 7 % 90) for n in range(50_000)]),
    ],
    ids=["a-b against a pattern", "all changed", "90 letters"],
)
def test_the_worst_text_the_editor_accepts_is_too_many_changes_in_bounded_work(counting, old, new):
    """100,000 characters of one-letter lines: the comparison gives up (the page then shows both
    texts whole) after a bounded number of lookups, instead of running for hours (the watchdog:
    each lookup of a repeated line walked through its 25,000 places)."""
    assert len("\n".join(new)) < MAX_BODY
    line = counting(lookups_allowed(len(old) + len(new)))
    with returns_within(10), pytest.raises(diffs.TooManyChanges):
        diffs.compare([line(x) for x in old], [line(x) for x in new])
