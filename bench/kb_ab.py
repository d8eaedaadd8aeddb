"""Knowledge-base search, A/B in one process: another revision's kb/search.py, links.py and
reading.py against the working tree's, on kb_bench.py's data set, requests interleaved.

    .venv/bin/python bench/kb_ab.py [--db sqlite|postgres|both] [--rev main] [--rounds 12]

On a shared machine two benchmark runs minutes apart differ by more than a change is worth; here
both versions answer the same requests turn about, in blocks of five, through Flask's test
client as kb_bench.py's customer. Printed per request: the median (and best) over the blocks of
wall time and of this process's CPU time (on PostgreSQL the server's work is in the wall time
only). The other revision's three modules are loaded from `git show REV:path` beside the
working tree's and swapped in for the views (search functions, the search box's categories,
the category slugs and the result addresses); everything else is the working tree's.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import importlib.util  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from bench.dataset import backends, bench_database  # noqa: E402
from bench.kb_bench import CUSTOMER, SEARCHES, SUBJECTS, seed  # noqa: E402

SEARCH_NAMES = ("search", "page_of", "snippet", "suggestions", "summary")
READING_NAMES = ("categories_to_search", "category_slugs")


def load_revision(rev, folder):
    """The revision's kb/search.py, reading.py and links.py as modules (links reading through it)."""
    modules = {}
    for name in ("search", "reading", "links"):
        path = os.path.join(folder, f"kb_{name}_{rev.replace('/', '_')}.py")
        with open(path, "w") as fh:
            fh.write(
                subprocess.check_output(["git", "show", f"{rev}:helpdesk/kb/{name}.py"], cwd=ROOT, text=True)
            )
        spec = importlib.util.spec_from_file_location(f"kb_{name}_old", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules[name] = module
    modules["links"].reading = modules["reading"]
    return modules


def measure(url, rev, rounds):
    from helpdesk import create_app
    from helpdesk.kb import links, reading, search

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    assert client.post("/login", data={"email": CUSTOMER, "password": "bench"}).status_code == 302
    with tempfile.TemporaryDirectory() as folder:
        old = load_revision(rev, folder)
    versions = {
        rev: (
            {n: getattr(old["search"], n) for n in SEARCH_NAMES},
            {n: getattr(old["reading"], n) for n in READING_NAMES},
            old["links"].article_url,
        ),
        "branch": (
            {n: getattr(search, n) for n in SEARCH_NAMES},
            {n: getattr(reading, n) for n in READING_NAMES},
            links.article_url,
        ),
    }

    def use(version):
        search_functions, reading_functions, article_url = versions[version]
        for name, function in search_functions.items():
            setattr(search, name, function)
        for name, function in reading_functions.items():
            setattr(reading, name, function)
        app.jinja_env.globals["kb_article_url"] = article_url

    requests = [("search", q) for q in SEARCHES] + [("suggest", s) for s in SUBJECTS]

    def run(kind, text):
        if kind == "search":
            response = client.get("/kb/search", query_string={"q": text})
        else:
            response = client.get(
                "/kb/suggest", query_string={"subject": text}, headers={"HX-Request": "true"}
            )
        assert response.status_code == 200
        response.close()

    spent = {(v, r): ([], []) for v in versions for r in requests}
    for version in versions:  # warm-up
        use(version)
        for request in requests:
            run(*request)
            run(*request)
    for _ in range(rounds):
        for version in versions:
            use(version)
            for request in requests:
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(5):
                    run(*request)
                spent[(version, request)][0].append((time.perf_counter() - wall) * 200)
                spent[(version, request)][1].append((time.process_time() - cpu) * 200)
    use("branch")

    def shown(values):
        return f"{statistics.median(values):6.1f} ({min(values):5.1f})"

    print(f"  ms per request, median (best) of {rounds} interleaved blocks of 5")
    print(f"  {'request':<46}{rev + ' wall':>16}{'branch wall':>16}{rev + ' CPU':>16}{'branch CPU':>16}")
    for request in requests:
        (old_wall, old_cpu), (new_wall, new_cpu) = spent[(rev, request)], spent[("branch", request)]
        label = f"{request[0]} “{request[1][:32]}”"
        print(
            f"  {label:<46}{shown(old_wall):>16}{shown(new_wall):>16}{shown(old_cpu):>16}{shown(new_cpu):>16}"
        )


def main():
    import argparse

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rev", default="main", help="the revision to compare the working tree with")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for backend in backends(args):
        print(f"\n== {backend} ==")
        with bench_database(backend, prefix="helpdesk-kb-ab-") as url:
            seed(url, args.articles)
            measure(url, args.rev, args.rounds)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
