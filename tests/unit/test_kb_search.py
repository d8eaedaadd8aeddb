"""Knowledge-base search (kb/search.py) on the database under test (SQLite's FTS5 here, PostgreSQL's
tsvector in the PostgreSQL pass): the same articles either way, ranked title first."""

import re

import pytest

from helpdesk.extensions import db
from helpdesk.kb import articles, search
from tests import kb_support as kb
from tests.plans import sqlite_plan


@pytest.fixture
def library(make, ref):
    """Articles of IT and Billing by an admin, with their words where the tests look for them."""
    author = make.admin()
    it, billing = ref.categories["IT"], ref.categories["Billing"]
    made = {
        "vpn": kb.write(
            author,
            it,
            "VPN drops every few minutes",
            body="Update the client; check the router.",
            tags="vpn, remote work",
        ),
        "printer": kb.write(
            author, it, "Printer shows as offline", body="Restart the spooler. Not a VPN problem."
        ),
        "router": kb.write(
            author, it, "Home router settings", body="Band steering breaks the tunnel.", tags="vpn"
        ),
        "card": kb.write(
            author, billing, "Update the card used at renewal", body="Open Billing, then Manage card."
        ),
        "cafe": kb.write(
            author,
            billing,
            "Café invoices",
            body="À l'école: factures. Version 2.3.1 on intranet.example.com.",
        ),
        "draft": kb.write(author, it, "VPN secrets draft", body="Not yet.", status="draft"),
        "agents": kb.write(
            author, it, "VPN escalation for agents", body="Call the network team.", visibility="agents"
        ),
    }
    db.session.commit()
    return type("Library", (), {"author": author, "it": it, "billing": billing, **made})


def titles(viewer, q, **filters):
    found = search.search(viewer, q, **filters)
    return [a.title for a in search.first_results(found, 100)]  # what the pages read


def suggested(viewer, text, **kw):
    return [a.title for a in search.suggestions(viewer, text, **kw)]


def test_words_drop_common_english_unless_nothing_else_is_left():
    assert search.words("How to reset my password?") == ["reset", "password"]
    assert search.words("how to") == ["how", "to"]
    assert search.suggestion_words("My VPN drops a lot, I think") == ["vpn", "drop", "lot", "think"]


@pytest.mark.parametrize(
    ("typed", "looked_for"),
    [
        ("passwords", "password"),
        ("plans", "plan"),
        ("addresses", "address"),
        ("accesses", "access"),
        ("policies", "polic"),
        ("boxes", "box"),
        ("access", "access"),  # not plurals: left as typed
        ("status", "status"),
        ("vpn", "vpn"),
        ("bus", "bus"),
        ("analysis", "analysis"),
    ],
)
def test_a_plural_is_looked_for_as_its_singular(typed, looked_for):
    assert search.words(typed) == [looked_for]


def test_a_plural_finds_the_article_that_says_the_singular(library, make):
    reader = make.customer()
    assert titles(reader, "printers") == titles(reader, "printer") == ["Printer shows as offline"]


def test_every_word_must_match_as_a_prefix_title_tags_or_text(library, make):
    reader = make.customer()
    assert titles(reader, "printer") == ["Printer shows as offline"]
    assert titles(reader, "spool") == ["Printer shows as offline"]  # a prefix, in the text
    assert titles(reader, "remote") == ["VPN drops every few minutes"]  # a tag
    assert titles(reader, "update card") == ["Update the card used at renewal"]
    assert titles(reader, "pooler") == []  # a prefix, not any substring


def test_title_matches_rank_first(library, make):
    reader = make.customer()
    found = titles(reader, "vpn")
    assert found[0] == "VPN drops every few minutes"  # title and tag
    assert set(found) == {"VPN drops every few minutes", "Home router settings", "Printer shows as offline"}
    assert found.index("Home router settings") < found.index("Printer shows as offline")  # tag before text


def test_without_an_article_holding_every_word_any_word_will_do(library, make):
    reader = make.customer()
    found = search.search(reader, "printer renewal")
    assert found.mode == "some"
    assert {a.title for a in search.first_results(found, 100)} == {
        "Printer shows as offline",
        "Update the card used at renewal",
    }
    assert search.search(reader, "printer spooler").mode == "all"


@pytest.mark.parametrize("read_first", ["page", "first results", "mode"])
def test_the_fallback_to_some_words_is_the_same_whichever_read_comes_first(library, make, read_first):
    """Several words are matched all together by the first read (no separate question first);
    when no article has them all, that read and every later one give the articles with some."""
    reader = make.customer()
    found = search.search(reader, "printer renewal")
    if read_first == "page":
        page = search.page_of(found, 1, 25)
        assert page.total == 2 and found.mode == "some"
    elif read_first == "first results":
        assert len(search.first_results(found, 5)) == 2 and found.mode == "some"
    else:
        assert found.mode == "some"
    expected = {"Printer shows as offline", "Update the card used at renewal"}
    assert {a.title for a in search.page_of(found, 1, 25).items} == expected
    assert {a.title for a in search.first_results(found, 5)} == expected
    every = search.search(reader, "printer spooler")
    assert [a.title for a in search.page_of(every, 1, 25).items] == ["Printer shows as offline"]
    assert every.mode == "all"
    nothing = search.search(reader, "zebra giraffe")
    assert search.page_of(nothing, 1, 25).total == 0 and search.first_results(nothing, 5) == []
    assert nothing.mode == "some"


def test_one_statement_serves_every_viewer_with_their_own_visibilities(library, make):
    """The search's statements are built once per process: who reads what comes with each run."""
    customer, agent = make.customer(), make.technician(library.it)
    for _ in range(2):
        assert [a.title for a in search.page_of(search.search(customer, "escalation"), 1, 25).items] == []
        assert [a.title for a in search.page_of(search.search(agent, "escalation"), 1, 25).items] == [
            "VPN escalation for agents"
        ]
    it_only = search.search(agent, "update", category_id=library.it.id)
    assert [a.title for a in search.page_of(it_only, 1, 25).items] == ["VPN drops every few minutes"]
    tagged = search.search(agent, "vpn", tag="remote work")
    assert [a.title for a in search.page_of(tagged, 1, 25).items] == ["VPN drops every few minutes"]


def test_result_addresses_are_url_fors(library, app):
    """A result's address, written without url_for for plain slugs, is url_for's, also under a
    prefix (SCRIPT_NAME); any other slug goes through url_for."""
    from flask import url_for

    from helpdesk.kb import links

    for base in ("http://desk.example", "http://desk.example/help"):
        with app.test_request_context("/kb/search", base_url=base):
            for article in (library.vpn, library.cafe):
                expected = url_for(
                    "kb.article", category_slug=links.category_slug(article.category_id), slug=article.slug
                )
                assert links.article_url(article) == expected
            odd = type("Odd", (), {"category_id": library.it.id, "slug": "Ünïcode slug"})()
            assert links.article_url(odd) == url_for(
                "kb.article", category_slug=links.category_slug(library.it.id), slug="Ünïcode slug"
            )
            assert "ref=suggestion" in links.article_url(library.vpn, ref="suggestion")


def test_readers_never_find_what_they_may_not_read(library, make):
    customer, agent = make.customer(), make.technician(library.it)
    assert "VPN escalation for agents" not in titles(customer, "vpn")
    assert "VPN escalation for agents" in titles(agent, "vpn")
    assert "VPN secrets draft" not in titles(agent, "vpn") + titles(
        library.author, "vpn"
    )  # drafts are never listed
    assert "VPN escalation for agents" not in suggested(customer, "vpn")


def test_filters_by_category_and_tag(library, make):
    reader = make.customer()
    assert titles(reader, "update", category_id=library.billing.id) == ["Update the card used at renewal"]
    assert set(titles(reader, "", tag="vpn")) == {"VPN drops every few minutes", "Home router settings"}
    assert titles(reader, "band", tag="vpn") == ["Home router settings"]
    assert search.page_of(search.search(reader, ""), 1, 25) is None  # nothing to look for


def test_punctuation_and_accents_as_tickets_read_them(library, make):
    reader = make.customer()
    assert titles(reader, "intranet.example.com") == ["Café invoices"]
    assert titles(reader, "2.3.1") == ["Café invoices"]
    assert titles(reader, "CAFÉ") == titles(reader, "école") == ["Café invoices"]
    assert titles(reader, "cafe") == []  # accents count on both databases


@pytest.mark.parametrize(
    "query", ['"vpn', "vpn)", "NEAR(vpn", "vpn:*", "-vpn", "'vpn' & !router", "vpn OR x*", "\\"]
)
def test_query_syntax_is_read_as_plain_words(library, make, query):
    reader = make.customer()
    expected = titles(reader, " ".join(search.words(query)))
    assert titles(reader, query) == expected


def test_suggestions_take_any_word_at_most_five_best_first(library, make):
    reader = make.customer()
    assert suggested(reader, "my vpn drops all the time")[0] == "VPN drops every few minutes"
    assert suggested(reader, "a i") == []
    for n in range(8):
        kb.write(library.author, library.it, f"Wireless tip {n}", body="wireless")
    db.session.commit()
    assert len(suggested(reader, "wireless")) == search.SUGGESTIONS


def test_suggestions_prefer_the_chosen_category_among_equals(library, make):
    reader = make.customer()
    kb.write(library.author, library.it, "Renewal of certificates", body="x")
    db.session.commit()
    both = suggested(reader, "renewal", category_id=library.it.id)
    assert set(both) == {"Renewal of certificates", "Update the card used at renewal"}


def test_related_share_tags_then_the_category(library, make):
    reader = make.customer()
    related = [a.title for a in search.related(reader, library.vpn)]
    assert related[0] == "Home router settings"  # shares the tag
    assert "Printer shows as offline" in related  # same category
    assert "VPN escalation for agents" not in related and "VPN drops every few minutes" not in related


def test_the_index_follows_every_edit_and_rename(library, make):
    reader = make.customer()
    articles.update_article(
        library.author,
        library.printer,
        seen_version=library.printer.version,
        category_id=library.it.id,
        title="Printer offline on the third floor",
        body="Plug the toner back in.",
        visibility="public",
        tags="hardware",
    )
    db.session.commit()
    assert titles(reader, "spooler") == []
    assert titles(reader, "toner") == titles(reader, "hardware") == ["Printer offline on the third floor"]
    articles.set_status(library.author, library.printer, "archived")
    db.session.commit()
    assert titles(reader, "toner") == []


def test_a_title_word_follows_every_change_of_the_article(library, make):
    """Several words look for one of them in a title or tags first (PostgreSQL: the title
    vector's own index; SQLite: an FTS5 column filter): a new title, tags, category, visibility,
    status and a deletion show there at once."""
    reader, agent = make.customer(), make.technician(library.it)
    router = library.router

    def edit(**changes):
        fields = {
            "category_id": router.category_id,
            "title": router.title,
            "body": router.body,
            "visibility": router.visibility,
            "tags": router.tag_line,
        } | changes
        articles.update_article(library.author, router, seen_version=router.version, **fields)
        db.session.commit()

    assert suggested(reader, "router puzzle") == ["Home router settings"]
    edit(visibility="agents")
    assert suggested(reader, "router puzzle") == []
    assert suggested(agent, "router puzzle") == ["Home router settings"]
    edit(title="Home gateway settings", tags="wifi")
    assert suggested(agent, "router puzzle") == []
    assert suggested(agent, "gateway puzzle") == suggested(agent, "wifi puzzle") == ["Home gateway settings"]
    assert titles(agent, "gateway puzzle", category_id=library.it.id) == ["Home gateway settings"]
    edit(category_id=library.billing.id)
    assert titles(agent, "gateway puzzle", category_id=library.it.id) == []
    assert titles(agent, "gateway puzzle", category_id=library.billing.id) == ["Home gateway settings"]
    articles.set_status(library.author, router, "archived")
    db.session.commit()
    assert suggested(agent, "gateway puzzle") == []
    articles.set_status(library.author, router, "published")
    db.session.commit()
    assert suggested(agent, "gateway puzzle") == ["Home gateway settings"]
    db.session.delete(router)
    db.session.commit()
    assert suggested(agent, "gateway puzzle") == []


def test_snippets_mark_the_words_and_escape_the_text():
    html = search.snippet("Use <b>the</b> **VPN** client, then [restart](http://x) the VPN.", ["vpn"])
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert html.count("<mark>") == 2 and "restart" in html and "http://x" not in html


def test_suggestions_need_a_title_or_tag_word_or_two_words(library, make):
    reader = make.customer()
    kb.write(library.author, library.billing, "Invoices every month", body="Sent on the first.")
    kb.write(library.author, library.billing, "Payment terms", body="Pay within 30 minutes of every invoice.")
    db.session.commit()
    found = suggested(reader, "VPN drops every 10 minutes")
    assert found[0] == "VPN drops every few minutes"
    assert {"Invoices every month", "Home router settings", "Payment terms"} <= set(
        found
    )  # title, tag, two words
    assert "Printer shows as offline" not in found  # only "vpn", once, in its text
    assert set(suggested(reader, "router")) == {
        "VPN drops every few minutes",
        "Home router settings",
    }  # one word


@pytest.mark.parametrize(
    "q", ["vpn", "printer renewal", "band tunnel printer", "router vpn update", "update"]
)
def test_pages_follow_the_full_ranking_and_count_every_match(library, make, q):
    """A page reads ids with the number of matches in one statement (and, for "some", the two
    halves one after the other on PostgreSQL): every page size gives the full ranking's articles
    in its order, and the same total."""
    reader = make.technician(library.it)
    found = search.search(reader, q)
    expected = titles(reader, q)
    assert expected
    if q == "band tunnel printer":  # a title match, then two words in a text only
        assert found.mode == "some"
        assert sorted(expected) == ["Home router settings", "Printer shows as offline"]
    for per_page in (1, 2, 3, 25):
        seen, number = [], 1
        while True:
            page = search.page_of(found, number, per_page)
            assert page.total == len(expected)
            if not page.items:
                break
            seen += [a.title for a in page.items]
            number += 1
        assert seen == expected, per_page
    beyond = search.page_of(found, 50, 2)
    assert beyond.items == [] and beyond.total == len(expected)
    assert [a.title for a in search.first_results(found, 2)] == expected[:2]


def _searches_sql(run):
    """The SQL statements (with their parameters) `run()` sends that match articles' words (FTS5's
    MATCH on SQLite, a tsquery on PostgreSQL)."""
    from sqlalchemy import event

    sent = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if " MATCH " in statement or "@@" in statement:
            sent.append((statement, parameters))

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return sent


def test_sqlite_joins_each_match_to_its_article_through_the_small_access_index(library, make):
    """Every search statement (every word, some of them in two halves, the filters, suggestions)
    reads the articles it joins its matches to through ix_kb_articles_fts_access alone, never
    their long rows: a covering index, whatever the planner's statistics (INDEXED BY)."""
    reader, agent = make.customer(), make.technician(library.it)

    def run():
        search.page_of(search.search(reader, "vpn"), 1, 25)
        search.page_of(search.search(reader, "printer renewal"), 1, 25)  # some words: two halves
        search.page_of(search.search(agent, "update", category_id=library.it.id), 1, 25)
        search.page_of(search.search(agent, "vpn", tag="remote work"), 1, 25)
        search.suggestions(reader, "My VPN drops all the time", category_id=library.it.id)

    sent = _searches_sql(run)
    assert len(sent) >= 6
    for statement, parameters in sent:
        if db.engine.dialect.name != "sqlite":
            assert "INDEXED BY" not in statement
            continue
        plan = sqlite_plan(statement, parameters)
        reads = [step for step in plan if re.match(r"(?:SEARCH|SCAN) kb_articles ", step)]
        assert reads and all("COVERING INDEX ix_kb_articles_fts_access" in step for step in reads), plan
