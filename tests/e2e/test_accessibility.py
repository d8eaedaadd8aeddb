"""axe-core (vendored: tests/e2e/vendor) finds no violation on any page of the smoke crawl, on a
laptop and on a phone."""

from pathlib import Path

import pytest

from helpdesk.demo.seed import DEMO_PASSWORD

from .test_every_page_fits import VIEWPORTS, crawl, demo  # noqa: F401 (demo is a fixture)

pytestmark = pytest.mark.e2e

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 2).map((n) => n.target.join(" ")).join(" | ")}`);
}"""


@pytest.mark.parametrize("email", ["admin@example.com", "alice@example.com", "carol@acme.example"])
def test_every_page_passes_axe(browser, demo, email):  # noqa: F811
    with demo.app.app_context():
        urls = crawl(demo.app, email)
    context = browser.new_context(viewport=VIEWPORTS[1], bypass_csp=True)
    page = context.new_page()
    page.goto(demo.url + "/login")
    found = [f"/login: {v}" for v in _axe(page)]
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    for viewport in VIEWPORTS[::-1]:
        page.set_viewport_size(viewport)
        for url in urls if viewport is VIEWPORTS[1] else urls[:12]:
            page.goto(demo.url + url)
            found += [f"{viewport['width']} px {url}: {v}" for v in _axe(page)]
    context.close()
    assert found == [], "\n".join(found)


def _axe(page):
    page.add_script_tag(path=str(AXE))
    return page.evaluate(RUN_AXE)
