"""The house rules of the code, checked on every import of every module (deferred ones included).

- no two modules import each other, directly or round a loop;
- domains are layered: a domain's models and services use only the domains before it in
  DOMAINS (events carry news upwards: see helpdesk/events.py);
- the web layer of a domain (views, forms, navigation, commands) may call any domain's services,
  but never another domain's views;
- the shared plumbing at the top of the package imports no domain, except that policy.py reads
  the domains' models.
"""

import ast
import functools
from pathlib import Path

import pytest

import helpdesk

PACKAGE = Path(helpdesk.__file__).parent
DOMAINS = (
    "accounts",
    "tickets",
    "branding",
    "credits",
    "billing",
    "notices",
    "mail",
    "kb",
    "replies",
    "reports",
    "webhooks",
    "demo",
    "api",  # the REST API: calls every domain's services; nothing depends on it
)
INDEPENDENT = ("core",)  # start page, health check, admin home: no domain services
# The web layer: modules named so in every domain (views by audience, their forms and helpers).
WEB_NAMES = {"__init__", "blueprints", "forms", "nav", "panels", "banners", "cli", "views", "attachments"}
WEB_PREFIXES = ("portal", "agent", "admin")


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


# Every module's name at collection; the files are parsed on first use (in the one worker that
# runs these tests, not in every process that collects the suite).
NAMES = sorted(_module_name(path) for path in PACKAGE.rglob("*.py"))


@functools.cache
def _parse_all():
    return {_module_name(path): (path, ast.parse(path.read_text())) for path in sorted(PACKAGE.rglob("*.py"))}


@functools.cache
def _graph():
    return {name: _imports(tree) - {name} for name, (_path, tree) in _parse_all().items()}


def _imports(tree):
    """Every helpdesk module imported anywhere in the file (a function's body included)."""
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("helpdesk")
        ):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in NAMES else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("helpdesk"))
    return found


def _domain(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in DOMAINS + INDEPENDENT) else None


def _is_web(module):
    leaf = module.rsplit(".", 1)[-1] if module.count(".") > 1 else "__init__"
    return leaf in WEB_NAMES or leaf.startswith(WEB_PREFIXES)


def _has_routes(tree):
    for node in ast.walk(tree):
        for decorator in getattr(node, "decorator_list", ()):
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(target, ast.Attribute) and target.attr in ("get", "post", "route"):
                return True
    return False


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, result, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def test_no_module_imports_itself_round_a_loop():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_loop():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_models_and_services_use_only_the_domains_below_them():
    wrong = []
    for module, targets in _graph().items():
        domain = _domain(module)
        if domain not in DOMAINS or _is_web(module):
            continue
        allowed = set(DOMAINS[: DOMAINS.index(domain) + 1])
        for target in targets:
            other = _domain(target)
            if other is not None and other not in allowed:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_no_domain_imports_another_domains_views():
    routes = {name for name, (_path, tree) in _parse_all().items() if _has_routes(tree)}
    wrong = [
        f"{module} -> {target}"
        for module, targets in _graph().items()
        for target in targets & routes
        if _domain(target) != _domain(module)
    ]
    assert wrong == []


@pytest.mark.parametrize(
    "module", [m for m in NAMES if _domain(m) is None and m not in ("helpdesk", "helpdesk.policy")]
)
def test_shared_plumbing_imports_no_domain(module):
    assert {t for t in _graph()[module] if _domain(t) is not None} == set()


def test_policy_reads_only_the_domains_models():
    assert {
        t for t in _graph()["helpdesk.policy"] if _domain(t) is not None and not t.endswith(".models")
    } == set()


def _session_calls(tree, names=("commit", "rollback")):
    return [
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in names
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "session"
    ]


def test_views_write_through_one_helper():
    """A view commits (or rolls back) only through helpdesk.actions.perform."""
    routes = {name: tree for name, (_path, tree) in _parse_all().items() if _has_routes(tree)}
    assert len(routes) > 20  # the domains' view modules were found
    assert {name: calls for name, tree in routes.items() if (calls := _session_calls(tree))} == {}
