"""The README tour's script (scripts/screenshots.py) photographs pages that exist: each page of its
list answers 200 to the role it is taken as, on the demo desk (no browser here)."""

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk.accounts.models import User
from helpdesk.demo.seed import seed_demo
from helpdesk.extensions import db

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "screenshots.py"


def _script():
    spec = importlib.util.spec_from_file_location("tour_screenshots", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOUR = _script()


def test_the_tour_covers_every_role_in_both_schemes():
    assert set(TOUR.PAGES) == set(TOUR.ROLES) == {"customer", "technician", "admin"}
    assert TOUR.SCHEMES == ("light", "dark")
    assert TOUR.VIEWPORT == {"width": 1280, "height": 800}


@pytest.mark.parametrize("role", sorted(TOUR.PAGES))
def test_every_page_of_the_tour_answers_its_role(client, login, role):
    seed_demo()
    db.session.commit()
    login(db.session.scalar(select(User).where(User.email == TOUR.ROLES[role])))
    paths = TOUR.page_paths(role)
    assert len(paths) == len(TOUR.PAGES[role])
    for name, path in paths:
        assert "{" not in path and "None" not in path, (name, path)
        response = client.get(path)
        assert response.status_code == 200, (role, name, path, response.status_code)


def test_the_readme_shows_every_screenshot_with_alt_text():
    readme = (SCRIPT.parents[1] / "README.md").read_text()
    for role, pages in TOUR.PAGES.items():
        for name, _what, _path in pages:
            for scheme in TOUR.SCHEMES:
                image = f"docs/screenshots/{role}-{name}-{scheme}.png"
                assert f"]({image})" in readme, image
                assert (SCRIPT.parents[1] / image).exists(), image
