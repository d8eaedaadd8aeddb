"""Every package the requirements bring, directly or through another, has its version fixed in
constraints.txt (a clone installs what the suite passed with), at the version installed here."""

import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def _name(text):
    return re.sub(r"[-_.]+", "-", text).lower()


def _requirements(path):
    for line in (ROOT / path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            yield Requirement(line)


def _installed_closure(requirements):
    """{name: version} of the requirements and everything they require, as installed."""
    found, todo = {}, [(r.name, frozenset(r.extras)) for r in requirements]
    seen = set()
    while todo:
        name, extras = todo.pop()
        if (_name(name), extras) in seen:
            continue
        seen.add((_name(name), extras))
        dist = metadata.distribution(name)
        found[_name(name)] = dist.version
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
                continue
            todo.append((req.name, frozenset(req.extras)))
    return found


def test_every_installed_dependency_is_pinned_in_constraints():
    pins = {_name(r.name): str(r.specifier) for r in _requirements("constraints.txt")}
    wanted = [*_requirements("requirements.txt"), *_requirements("requirements-dev.txt")]
    installed = _installed_closure(wanted)
    assert len(installed) > 50
    missing = sorted(f"{name}=={version}" for name, version in installed.items() if name not in pins)
    assert missing == [], f"add to constraints.txt: {' '.join(missing)}"
    differing = sorted(
        f"{name}: {pins[name]} pinned, {v} installed"
        for name, v in installed.items()
        if pins[name] != f"=={v}"
    )
    assert differing == []


def test_direct_requirements_are_pinned_as_constraints_say():
    pins = {_name(r.name): str(r.specifier) for r in _requirements("constraints.txt")}
    for path in ("requirements.txt", "requirements-dev.txt"):
        for req in _requirements(path):
            assert str(req.specifier).startswith("=="), f"{path}: {req} is not pinned"
            assert pins.get(_name(req.name)) == str(req.specifier), f"{path}: {req} against constraints.txt"
