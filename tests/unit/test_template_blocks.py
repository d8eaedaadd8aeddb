"""A block that htmx asks for alone (htmx.render_page_or_block) is rendered without the rest of its
template, so without that template's top-level imports: a macro it calls from them is undefined
there, and the fragment answers 500 while the full page works. Every block inside another block
(the fragments; the layout's own blocks are never rendered alone) imports what it uses."""

from pathlib import Path

from jinja2 import nodes

TEMPLATES = Path(__file__).resolve().parents[2] / "helpdesk" / "templates"


def _imported(node):
    """The names an import node binds."""
    if isinstance(node, nodes.FromImport):
        return {name if isinstance(name, str) else name[1] for name in node.names}
    if isinstance(node, nodes.Import):
        return {node.target}
    return set()


def _top_level_imports(template):
    """Names imported outside every block."""
    found = set()

    def walk(node):
        for child in node.iter_child_nodes():
            if isinstance(child, nodes.Block):
                continue
            found.update(_imported(child))
            walk(child)

    walk(template)
    return found


def _nested_blocks(template):
    """Blocks defined inside another block: the fragments a view may render alone."""
    for outer in template.find_all(nodes.Block):
        yield from outer.find_all(nodes.Block)


def _missing_imports(source, env):
    template = env.parse(source)
    top = _top_level_imports(template)
    missing = {}
    for block in _nested_blocks(template):
        own = set()
        for node in block.find_all((nodes.FromImport, nodes.Import)):
            own.update(_imported(node))
        used = {name.name for name in block.find_all(nodes.Name) if name.ctx == "load"}
        lacking = sorted((used & top) - own)
        if lacking:
            missing[block.name] = lacking
    return missing


def test_every_fragment_block_imports_the_macros_it_calls(app):
    problems = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        missing = _missing_imports(path.read_text(encoding="utf-8"), app.jinja_env)
        if missing:
            problems[str(path.relative_to(TEMPLATES))] = missing
    assert problems == {}, "import these inside the blocks that use them (htmx renders a block alone)"


def test_the_check_finds_a_macro_imported_only_at_the_top(app):
    source = """{% extends "base.html" %}{% from "_macros/forms.html" import pagination %}
    {% block content %}{% block part %}{{ pagination(page, 'x') }}{% endblock %}{% endblock %}"""
    assert _missing_imports(source, app.jinja_env) == {"part": ["pagination"]}
    fixed = source.replace(
        "{% block part %}", '{% block part %}{% from "_macros/forms.html" import pagination %}'
    )
    assert _missing_imports(fixed, app.jinja_env) == {}
