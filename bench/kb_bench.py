"""Knowledge-base benchmark: the search page and the new-ticket form's suggestion fragment at 10,000 articles.

    .venv/bin/python bench/kb_bench.py [--db sqlite|postgres|both] [--articles N] [--repeat R]

Seeds a fresh database per backend (the schema by create_all, so the search document of
kb/search_schema.py) with N articles (default 10,000) in the three demo categories: titles and
texts of 5 and about 140 words: a topic of two of 60 help-desk words ("vpn", "printer", ...) in
the title and the text, five more of them mentioned once, and filler from 2,000 made-up words
(Zipf-distributed), so each help-desk word is in about 3 % of titles and 10 % of articles; 1 to 3
of 40 tags each; 60 % public, 30 % for customers, 10 % for agents; 90 % published, 5 %
drafts, 5 % archived. Then, in-process through Flask's test client as a signed-in customer
(the user loaded from the session on every request, as in production), it times

- `GET /kb/search?q=...`: the search page (every word, best first, 25 a page with the count, the
  any-word fallback when no article has them all, the snippets; and the search's counter, one
  upsert and a commit);
- `GET /kb/suggest?subject=...` with `HX-Request`: the suggestion fragment beside the new-ticket
  form (any word, ranked, at most five, relevance filter);

and, for each query, the queries alone (the page's count and rows, or the suggestions' query).
Milliseconds: median (p50), p90 and best of --repeat runs after two warm-up runs, and the CPU time
per request of this process and the PostgreSQL backends serving it (on a shared machine, the
figure other work inflates least). PostgreSQL databases are
created on BENCH_PG_SERVER (default 127.0.0.1:5432) and dropped after; SQLite files live in a temp
folder.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from bench.dataset import backends, bench_database  # noqa: E402  (after the path is set)

CUSTOMER = "kb.bench@example.com"
DESK_WORDS = (
    "password reset vpn drops printer offline invoice refund card renewal laptop wifi router outlook "
    "calendar sync phone two factor code account login error upload file export report plan upgrade "
    "discount quote licence seat billing vat order monitor screen battery backup restore server access "
    "share folder permission email spam phishing slow update install network cable dock keyboard mouse "
    "meeting"
).split()
TAGS = DESK_WORDS[:40]
SEARCHES = ["vpn", "printer offline", "invoice refund", "password reset link", "zebra"]
SUBJECTS = [
    "My VPN drops every few minutes",
    "Cannot print to the printer on floor 3",
    "Refund for the unused month",
    "xyzzy plugh",
]


def vocabulary(rng):
    """2,000 made-up filler words, Zipf-distributed (the commonest is in nearly every article, as
    "the" would be; a search never asks for them)."""
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    words = sorted({"".join(rng.sample(syllables, 3)) for _ in range(4000)})[:2000]
    weights = [1 / (rank + 1) for rank in range(len(words))]
    return words, weights


def article_text(rng, n, words, weights):
    """Title and text of article `n`: a topic of two help-desk words (in the title and three times in
    the text), five other help-desk words mentioned once, and filler: each help-desk word ends up
    in about 3 % of titles and 10 % of articles."""
    topic = rng.sample(DESK_WORDS, 2)
    title = " ".join([*topic, *rng.choices(words, weights, k=3)]).capitalize() + f" {n}"
    body_words = rng.choices(words, weights, k=130) + topic * 3 + rng.sample(DESK_WORDS, 5)
    rng.shuffle(body_words)
    paragraphs = [" ".join(body_words[i : i + 50]).capitalize() + "." for i in range(0, len(body_words), 50)]
    return title, "\n\n".join(paragraphs)


def seed(url, count):
    from sqlalchemy import insert, select, text

    from helpdesk import create_app
    from helpdesk.accounts.auth import hash_password
    from helpdesk.accounts.models import User
    from helpdesk.dbtypes import utcnow
    from helpdesk.demo.seed import seed_reference_data
    from helpdesk.extensions import db
    from helpdesk.kb.models import Article, ArticleTag

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    rng = random.Random(15)
    words, weights = vocabulary(rng)
    started = time.perf_counter()
    with app.app_context():
        db.create_all()
        categories, _priorities = seed_reference_data()
        db.session.add(
            User(email=CUSTOMER, name="KB Bench", role="customer", password_hash=hash_password("bench"))
        )
        db.session.flush()
        now = utcnow()
        rows, tags = [], []
        for n in range(count):
            title, body = article_text(rng, n, words, weights)
            article_tags = sorted(set(rng.sample(TAGS, rng.randint(1, 3))))
            rows.append(
                {
                    "category_id": rng.choice(list(categories.values())).id,
                    "title": title,
                    "slug": f"article-{n}",
                    "body": body,
                    "tag_line": ", ".join(article_tags),
                    "visibility": rng.choices(["public", "customers", "agents"], [6, 3, 1])[0],
                    "status": rng.choices(["published", "draft", "archived"], [18, 1, 1])[0],
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "published_at": now,
                }
            )
            tags.append(article_tags)
        db.session.execute(insert(Article), rows)
        ids = db.session.scalars(select(Article.id).order_by(Article.id)).all()
        db.session.execute(
            insert(ArticleTag),
            [{"article_id": i, "name": t} for i, names in zip(ids, tags, strict=True) for t in names],
        )
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        db.session.remove()
        db.engine.dispose()
    print(f"  seeded {count:,} articles in {time.perf_counter() - started:.1f} s")


def database_cpu_seconds(database):
    """User + system CPU time of the PostgreSQL backends serving `database` (Linux /proc; 0 for
    SQLite, which runs in this process). The machine is shared: CPU time is the figure that
    other work does not inflate much, where wall time can double."""
    if not database:
        return 0.0
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if f" {database} ".encode() not in fh.read().replace(b"\0", b" ") + b" ":
                    continue
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            continue
    return total / os.sysconf("SC_CLK_TCK")


def timed(run, repeat, database=None):
    """(p50, p90, best, CPU per run) milliseconds of `run()` after two warm-up runs; CPU is this
    process's plus the database's."""
    run()
    run()
    spent = []
    cpu_before = time.process_time() + database_cpu_seconds(database)
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        spent.append((time.perf_counter() - started) * 1000)
    cpu = (time.process_time() + database_cpu_seconds(database) - cpu_before) * 1000 / repeat
    spent.sort()
    return statistics.median(spent), spent[int(0.9 * (len(spent) - 1))], spent[0], cpu


def measure(url, repeat):
    from flask_login import AnonymousUserMixin  # noqa: F401  (the policy's visitor, for reference)
    from sqlalchemy import select

    from helpdesk import create_app
    from helpdesk.accounts.models import User
    from helpdesk.extensions import db
    from helpdesk.kb import search

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    assert client.post("/login", data={"email": CUSTOMER, "password": "bench"}).status_code == 302
    database = url.rsplit("/", 1)[1] if url.startswith("postgresql") else None
    print(f"  {'what':<44}{'results':>8}{'p50 ms':>9}{'p90':>8}{'best':>8}{'CPU ms':>8}{'SQL p50':>9}")
    with app.app_context():
        customer = db.session.scalar(select(User).where(User.email == CUSTOMER))
        for q in SEARCHES:
            found = search.search(customer, q)
            total = search.page_of(found, 1, 25).total
            sql = timed(lambda found=found: search.page_of(found, 1, 25), repeat)

            def page(q=q):
                response = client.get("/kb/search", query_string={"q": q})
                assert response.status_code == 200
                response.close()

            p50, p90, best, cpu = timed(page, repeat, database)
            label = f"search “{q}” ({found.mode})"
            print(f"  {label:<44}{total:>8,}{p50:>9.1f}{p90:>8.1f}{best:>8.1f}{cpu:>8.1f}{sql[0]:>9.1f}")
        for subject in SUBJECTS:
            shown = len(search.suggestions(customer, subject))
            sql = timed(lambda subject=subject: search.suggestions(customer, subject), repeat)

            def fragment(subject=subject):
                response = client.get(
                    "/kb/suggest", query_string={"subject": subject}, headers={"HX-Request": "true"}
                )
                assert response.status_code == 200
                response.close()

            p50, p90, best, cpu = timed(fragment, repeat, database)
            label = f"suggest “{subject[:30]}”"
            print(f"  {label:<44}{shown:>8}{p50:>9.1f}{p90:>8.1f}{best:>8.1f}{cpu:>8.1f}{sql[0]:>9.1f}")
        db.session.remove()
    with app.app_context():
        db.engine.dispose()


def main():
    import argparse

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=50, help="timed runs per query (p50, p90 and best)")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for backend in backends(args):
        print(f"\n== {backend} ==")
        with bench_database(backend, prefix="helpdesk-kb-bench-") as url:
            seed(url, args.articles)
            measure(url, args.repeat)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
