"""A revision compared with the current article: the lines removed and added, with some context.

The work is bounded whatever the text: an article has up to 100,000 characters, which may be
50,000 one-letter lines, and difflib's matcher (which finds the fewest changes) slows down to
minutes on many repeated lines (blank lines between 3,000 paragraphs, "a"/"b"). It is given a
budget of steps (WORK): within it, the comparison is difflib's, as it always was. Past it, the
lines found once in each text (a paragraph is rarely written twice) anchor the comparison, and
the matcher compares the stretches between them, within a second budget. When even that does
not fit (no such lines, or too many stretches), or the changes are more than a page can usefully
show (SHOWN lines), compare raises TooManyChanges and the page shows the two texts whole instead.
"""

import bisect
import difflib
from collections import Counter
from dataclasses import dataclass

CONTEXT = 3
WORK = 300_000  # the matcher's steps (lines searched, and their places in the other text) at most
SHOWN = 5_000  # lines a comparison shows at most (a page of more is no help, and slow to draw)
SMALL = 2_500  # a stretch of old × new lines up to this is given to the matcher without anchors


@dataclass(frozen=True)
class Line:
    kind: str  # "same", "removed", "added", or "gap" (unchanged lines left out)
    text: str = ""
    old_number: int | None = None
    new_number: int | None = None


class TooManyChanges(Exception):
    """The two texts differ too much, in too many repeated lines, to compare line by line within
    the budget."""


def as_text(title, tag_line, body):
    """What a revision's comparison reads: the title, the tags, then the text."""
    return [f"Title: {title}", f"Tags: {tag_line or '(none)'}", "", *(body or "").splitlines()]


def compare(old_lines, new_lines, context=CONTEXT, work=WORK):
    """The changes from `old_lines` to `new_lines` as Lines, unchanged runs longer than the context
    left out (a "gap"); [] when nothing changed. Takes at most about `work` steps of the matcher
    (twice: over the whole texts, then between anchors) and a few passes over the lines; raises
    TooManyChanges when that is not enough, or the comparison would show more than SHOWN lines."""
    if old_lines == new_lines:
        return []
    try:
        groups = list(_Matcher(old_lines, new_lines, _Budget(work)).get_grouped_opcodes(context))
    except _OverBudget:
        try:
            blocks = _anchored_blocks(old_lines, new_lines, _Budget(work))
        except _OverBudget:
            raise TooManyChanges() from None
        groups = list(_Found(blocks).get_grouped_opcodes(context))
    if sum(i2 - i1 + (j2 - j1 if tag != "equal" else 0) for g in groups for tag, i1, i2, j1, j2 in g) > SHOWN:
        raise TooManyChanges()
    result = []
    for number, group in enumerate(groups):
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


class _OverBudget(Exception):
    pass


class _Budget:
    def __init__(self, steps):
        self.left = steps

    def spend(self, steps):
        if steps > self.left:
            raise _OverBudget
        self.left -= steps


class _Matcher(difflib.SequenceMatcher):
    """difflib's matcher (every line counts: no "junk") that pays before each search for the
    longest common run: one step per line of the range and per place of that line in the other
    text, which is what the search walks through (at most)."""

    def __init__(self, a, b, budget):
        self.budget = budget
        super().__init__(None, a, b, autojunk=False)

    def find_longest_match(self, alo=0, ahi=None, blo=0, bhi=None):
        ahi = len(self.a) if ahi is None else ahi
        places = self.b2j
        self.budget.spend(sum(len(places.get(line, ())) + 1 for line in self.a[alo:ahi]))
        return super().find_longest_match(alo, ahi, blo, bhi)


class _Found:
    """Matching blocks found without one matcher over the whole texts, grouped as difflib groups
    its own (get_grouped_opcodes reads nothing but get_opcodes)."""

    get_grouped_opcodes = difflib.SequenceMatcher.get_grouped_opcodes

    def __init__(self, blocks):
        self.blocks = blocks  # [(i, j, n)] in order, ending with (len(a), len(b), 0)

    def get_opcodes(self):
        i = j = 0
        codes = []
        for ai, bj, size in self.blocks:
            tag = "replace" if i < ai and j < bj else "delete" if i < ai else "insert" if j < bj else ""
            if tag:
                codes.append((tag, i, ai, j, bj))
            i, j = ai + size, bj + size
            if size:
                codes.append(("equal", ai, i, bj, j))
        return codes


def _anchored_blocks(a, b, budget):
    """The matching blocks of `a` and `b` (as difflib's get_matching_blocks, ending with
    (len(a), len(b), 0)) for texts too long for the matcher alone. Each stretch, starting with the
    whole texts, gives its common head and tail; what is left is anchored by its lines found once
    in each (the longest chain of them in the same order), and the stretches between anchors are
    taken in turn; a short stretch, or one without anchors, goes to the matcher. _OverBudget when
    the budget runs out."""
    blocks = []
    stretches = [(0, len(a), 0, len(b))]
    while stretches:
        alo, ahi, blo, bhi = stretches.pop()
        head = 0
        while alo + head < ahi and blo + head < bhi and a[alo + head] == b[blo + head]:
            head += 1
        if head:
            blocks.append((alo, blo, head))
            alo, blo = alo + head, blo + head
        tail = 0
        while ahi - tail > alo and bhi - tail > blo and a[ahi - tail - 1] == b[bhi - tail - 1]:
            tail += 1
        if tail:
            ahi, bhi = ahi - tail, bhi - tail
            blocks.append((ahi, bhi, tail))
        if alo == ahi or blo == bhi:
            continue
        budget.spend(ahi - alo + bhi - blo)
        anchors = [] if (ahi - alo) * (bhi - blo) <= SMALL else _anchors(a, alo, ahi, b, blo, bhi)
        if not anchors:  # a short stretch, or one without anchors: the matcher, if it can afford it
            found = _Matcher(a[alo:ahi], b[blo:bhi], budget).get_matching_blocks()
            blocks.extend((alo + i, blo + j, n) for i, j, n in found if n)
            continue
        for (i, j), (next_i, next_j) in zip(
            [(alo - 1, blo - 1), *anchors], [*anchors, (ahi, bhi)], strict=True
        ):
            stretches.append((i + 1, next_i, j + 1, next_j))
        blocks.extend((i, j, 1) for i, j in anchors)
    blocks.sort()
    merged = []
    for i, j, n in blocks:
        if merged and merged[-1][0] + merged[-1][2] == i and merged[-1][1] + merged[-1][2] == j:
            merged[-1] = (merged[-1][0], merged[-1][1], merged[-1][2] + n)
        else:
            merged.append((i, j, n))
    return [*merged, (len(a), len(b), 0)]


def _anchors(a, alo, ahi, b, blo, bhi):
    """[(i, j)]: lines found once in a[alo:ahi] and once in b[blo:bhi], the longest chain of them
    in the same order in both (patience sorting: n log n)."""
    old_counts, new_counts = Counter(a[alo:ahi]), Counter(b[blo:bhi])
    new_place = {line: j for j, line in enumerate(b[blo:bhi], blo) if new_counts[line] == 1}
    pairs = [
        (i, new_place[line])
        for i, line in enumerate(a[alo:ahi], alo)
        if old_counts[line] == 1 and line in new_place
    ]
    tops, top_index, before = [], [], [None] * len(pairs)
    for index, (_i, j) in enumerate(pairs):
        pile = bisect.bisect_left(tops, j)
        if pile == len(tops):
            tops.append(j)
            top_index.append(index)
        else:
            tops[pile], top_index[pile] = j, index
        before[index] = top_index[pile - 1] if pile else None
    chain, index = [], top_index[-1] if top_index else None
    while index is not None:
        chain.append(pairs[index])
        index = before[index]
    return chain[::-1]
