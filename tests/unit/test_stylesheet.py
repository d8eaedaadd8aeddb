"""The stylesheet keeps its own promise: every colour of the interface comes from the design tokens
at its top (light, then dark). A colour written into a rule stays the same in the dark scheme, where
light text then sits on a light background (the knowledge base's status pills and the revision
diff's rows did: 1.3:1 in dark mode, found by axe)."""

import re
from pathlib import Path

CSS = Path(__file__).parents[2] / "helpdesk" / "static" / "app.css"

# Where a fixed colour is meant: a QR code must be dark on light in either scheme to be scanned, and
# a dialog's backdrop dims the page (translucent black) in either scheme.
FIXED_ON_PURPOSE = {".qr svg", ".confirm-dialog::backdrop"}

DECLARATION = re.compile(
    r"(?<![-\w])(color|background|background-color|border-color|fill|stroke)\s*:\s*([^;}]*)"
)
LITERAL = re.compile(r"#[0-9a-fA-F]{3,8}\b|\brgba?\(|\bhsla?\(")


def _rules_after_tokens(text):
    """(selector, body) of every rule after the token blocks, media queries opened."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    tokens_end = text.index("}", text.index("@media (prefers-color-scheme: dark)"))
    tokens_end = text.index("}", tokens_end + 1)  # the dark block's :root, then the media query
    rest = text[tokens_end + 1 :]
    rest = re.sub(r"@media[^{]*\{", "", rest)
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", rest):
        yield selector.strip(), body


def test_every_colour_of_a_rule_comes_from_a_token():
    fixed = []
    for selector, body in _rules_after_tokens(CSS.read_text()):
        if selector in FIXED_ON_PURPOSE:
            continue
        for prop, value in DECLARATION.findall(body):
            if LITERAL.search(re.sub(r"var\([^)]*\)", "", value)):
                fixed.append(f"{selector} {{ {prop}: {value.strip()} }}")
    assert fixed == []


def test_no_template_paints_a_fixed_colour():
    """SVG's fill and stroke attributes are colours too: the reports' charts drew their axes'
    words in #1d2430, invisible on the dark scheme's background. The stylesheet paints them."""
    templates = CSS.parents[1] / "templates"
    painted = [
        f"{path.relative_to(templates)}: {match}"
        for path in templates.rglob("*.html")
        for match in re.findall(r'(?:fill|stroke|color)="#[0-9a-fA-F]+"', path.read_text())
    ]
    assert painted == []


def test_the_check_reads_the_rules():
    rules = dict(_rules_after_tokens(CSS.read_text()))
    assert "var(--fg)" in rules["body"] and len(rules) > 100
