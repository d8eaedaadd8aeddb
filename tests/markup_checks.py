"""HTML's rules that browsers forgive and the W3C's validator (vnu) does not: checked on every page
the crawls reach (tests/functional/test_every_page_renders.py) and on pages they do not."""

import re
from collections import Counter
from html.parser import HTMLParser

# Found on the demo's pages by vnu (2026-12-04): a form in the header's <span>; two id="csrf_token"
# on a page of two forms (and hand-written in the ticket page's two time forms); a <time> with
# microseconds; a required select with no empty first option, or with no option at all (the phone
# order with no pack on sale); an aria-labelledby pointing at no element; and a name (aria-label) on
# an element without a role that takes one (ARIA 1.2 forbids it on generic text: the two-factor
# key's <code>).
# And one of our own (2026-12-05): a live region (aria-live, or role status, alert or log) that an
# htmx swap replaces whole (outerHTML) announces nothing, since screen readers watch the region that
# was there; a replaced list says what it shows through the layout's #live-status instead.
LIVE_ROLES = {"status", "alert", "log"}
PHRASING = {"a", "abbr", "b", "button", "code", "em", "i", "label", "p", "small", "span", "strong", "time"}
UNNAMED = {"b", "code", "div", "em", "i", "p", "small", "span", "strong"}  # roles that take no name
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))?$"
)


class _Markup(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open, self.ids, self.pointed, self.problems = [], Counter(), [], []
        self.select = None  # a required select whose first option is still to come
        self.live, self.replaced = set(), set()  # ids of live regions; ids that outerHTML swaps replace

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids[attrs["id"]] += 1
            if "aria-live" in attrs or attrs.get("role") in LIVE_ROLES:
                self.live.add(attrs["id"])
        if (attrs.get("hx-swap") or "").startswith("outerHTML"):
            target = attrs.get("hx-target") or ("#" + attrs["id"] if "id" in attrs else "")
            if target.startswith("#"):
                self.replaced.add(target[1:])
        for name in ("aria-labelledby", "aria-describedby"):
            self.pointed += [(name, target) for target in (attrs.get(name) or "").split()]
        if tag == "label" and attrs.get("for"):
            self.pointed.append(("label for", attrs["for"]))
        if tag in UNNAMED and "role" not in attrs and {"aria-label", "aria-labelledby"} & attrs.keys():
            self.problems.append(f"<{tag}> named by aria-label(ledby) without a role")
        if tag == "form" and (inside := PHRASING.intersection(self.open)):
            self.problems.append(f"a form inside <{sorted(inside)[0]}>")
        if tag == "time" and "datetime" in attrs and not DATETIME.match(attrs["datetime"] or ""):
            self.problems.append(f"<time datetime={attrs['datetime']!r}>")
        if tag == "select":
            self.select = attrs.get("id") if "required" in attrs and "multiple" not in attrs else None
        elif tag == "option" and self.select is not None:
            if attrs.get("value") != "":
                self.problems.append(f"required select #{self.select} has no empty first option")
            self.select = None
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag == "select" and self.select is not None:
            self.problems.append(f"required select #{self.select} has no option at all")
            self.select = None
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag) :]


def markup_problems(page):
    """What breaks those rules in `page` (a full HTML page), as sorted messages."""
    found = _Markup()
    found.feed(page)
    problems = found.problems + [f'id="{i}" {n} times' for i, n in found.ids.items() if n > 1]
    problems += [
        f"{name} #{target}: no such element" for name, target in found.pointed if target not in found.ids
    ]
    problems += [f"live region #{i} is replaced whole by an htmx swap" for i in found.live & found.replaced]
    return sorted(set(problems))
