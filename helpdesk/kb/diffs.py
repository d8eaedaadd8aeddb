"""A revision compared with the current article: the lines removed and added, with some context."""

import difflib
from dataclasses import dataclass

CONTEXT = 3


@dataclass(frozen=True)
class Line:
    kind: str  # "same", "removed", "added", or "gap" (unchanged lines left out)
    text: str = ""
    old_number: int | None = None
    new_number: int | None = None


def as_text(title, tag_line, body):
    """What a revision's comparison reads: the title, the tags, then the text."""
    return [f"Title: {title}", f"Tags: {tag_line or '(none)'}", "", *(body or "").splitlines()]


def compare(old_lines, new_lines, context=CONTEXT):
    """The changes from `old_lines` to `new_lines` as Lines, unchanged runs longer than the context
    left out (a "gap"); [] when nothing changed."""
    if old_lines == new_lines:
        return []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    result = []
    for number, group in enumerate(matcher.get_grouped_opcodes(context)):
        if number or (group and (group[0][1] > 0 or group[0][3] > 0)):
            result.append(Line("gap"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                result.extend(
                    Line("same", old_lines[i], i + 1, j1 + k + 1) for k, i in enumerate(range(i1, i2))
                )
                continue
            result.extend(Line("removed", old_lines[i], i + 1, None) for i in range(i1, i2))
            result.extend(Line("added", new_lines[j], None, j + 1) for j in range(j1, j2))
    return result


def changes(summary_lines):
    """(removed, added) line counts of a comparison."""
    return sum(1 for line in summary_lines if line.kind == "removed"), sum(
        1 for line in summary_lines if line.kind == "added"
    )
