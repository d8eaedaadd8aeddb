"""The knowledge base's readers' pages: home, search (with its address), redirects, titles, cache
headers, the sitemap, 'Was this helpful?' (with and without JavaScript), and the suggestions beside
the new-ticket form."""

import html as html_lib
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.kb import articles
from helpdesk.kb.models import ArticleDay, SearchCount, SuggestionClick, Vote
from helpdesk.tickets.models import Category
from tests import kb_support as kb
from tests.markup_checks import markup_problems

from .agent_support import HTMX


@pytest.fixture
def vpn(desk):
    item = kb.write(
        desk.tech_it, desk.it, "VPN drops every few minutes", body="Update the **client**.", tags="vpn"
    )
    db.session.commit()
    return item


def test_home_lists_categories_and_popular_articles(client, vpn):
    page = client.get("/kb/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<title>Knowledge base · Help desk</title>" in html
    assert 'href="/kb/it/"' in html and kb.url(vpn) in html
    assert 'role="search"' in html and 'action="/kb/search"' in html and 'method="get"' in html


def test_a_category_s_description_introduces_it(client, desk, vpn):
    """The home page lists what each category is for; its own page says it under the heading and
    in its meta description (search engines' snippet). Without one, the generic sentence."""
    desk.it.description = "Laptops, VPN & passwords."
    db.session.commit()
    home = client.get("/kb/").get_data(as_text=True)
    item = home.split('href="/kb/it/"', 1)[1].split("</li>", 1)[0]
    assert '<p class="hint" hx-disable>Laptops, VPN &amp; passwords.</p>' in item
    page = client.get("/kb/it/").get_data(as_text=True)
    assert '<meta name="description" content="Laptops, VPN &amp; passwords.">' in page
    assert "<p hx-disable>Laptops, VPN &amp; passwords.</p>" in page.split("</h1>", 1)[1]
    desk.it.description = ""
    db.session.commit()
    page = client.get("/kb/it/").get_data(as_text=True)
    assert '<meta name="description" content="Knowledge-base articles about IT.">' in page


def test_popular_is_most_read_in_thirty_days_then_the_latest_published_for_this_reader(desk):
    from datetime import timedelta

    from flask_login import AnonymousUserMixin

    from helpdesk.dbtypes import utcnow
    from helpdesk.kb import reading

    written = {}
    for name in ("old favourite", "unread", "second", "first"):  # published in this order
        written[name] = kb.write(desk.tech_it, desk.it, f"The {name} article")
        written[name].published_at = utcnow() - timedelta(days=10 - len(written))
    written["agents"] = kb.write(desk.tech_it, desk.it, "The agents' article", visibility="agents")
    today = utcnow().date()
    for name, views, days_ago in (
        ("first", 5, 0),
        ("second", 2, 3),
        ("old favourite", 9, 40),
        ("agents", 10, 0),
    ):
        db.session.add(
            ArticleDay(article_id=written[name].id, day=today - timedelta(days=days_ago), views=views)
        )
    db.session.flush()

    def titles(viewer, limit):
        return [a.title for a in reading.popular(viewer, limit=limit)]

    visitor = AnonymousUserMixin()
    assert titles(visitor, 2) == ["The first article", "The second article"]
    # topped up with the latest published, never repeating one, never one the reader may not read
    assert titles(visitor, 3) == ["The first article", "The second article", "The unread article"]
    assert titles(visitor, 10) == [
        "The first article",
        "The second article",
        "The unread article",
        "The old favourite article",
    ]
    assert titles(desk.tech_it, 1) == ["The agents' article"]


def test_a_search_has_an_address_and_pages(client, desk):
    for n in range(30):
        kb.write(desk.tech_it, desk.it, f"Wireless tip {n:02d}", body="wireless")
    db.session.commit()
    first = client.get("/kb/search?q=wireless").get_data(as_text=True)
    assert "30 articles" in first and 'rel="next"' in first
    second = client.get("/kb/search?q=wireless&page=2").get_data(as_text=True)
    assert second.count("Wireless tip") == 5


def test_a_page_past_the_end_links_the_last_one(client, desk, vpn):
    """A search or a category's list at a page it does not have (an old bookmark): it said "1
    article for 'vpn'." over an empty list, or "No articles in IT on this page.", without a pager."""
    for n in range(30):
        kb.write(desk.tech_it, desk.it, f"Wireless tip {n:02d}", body="wireless")
    db.session.commit()
    for address, last in (
        ("/kb/search?q=vpn&page=99999", "/kb/search?q=vpn&amp;page=1"),
        ("/kb/search?q=wireless&page=99", "/kb/search?q=wireless&amp;page=2"),
        ("/kb/it/?page=99999", "/kb/it/?page=2"),
    ):
        page = client.get(address)
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert re.search(
            rf'There is no page 99(,999)?: the list has [12] pages?\. <a href="{re.escape(last)}">Go to the last page</a>\.',
            html,
        ), address
        assert "on this page" not in html
    assert "1 article for" in client.get("/kb/search?q=vpn&page=99999").get_data(as_text=True)
    last = client.get("/kb/it/?page=2").get_data(as_text=True)
    assert last.count('<a href="/kb/it/') >= 6 and 'rel="prev"' in last


@pytest.mark.parametrize("q", ["", "???", '"', "x" * 5000, "\x00vpn", "NEAR(vpn"])
def test_odd_searches_answer_a_page(client, vpn, q):
    response = client.get(
        "/kb/search", query_string={"q": q, "category": "99999999999", "page": "-1", "tag": "<b>"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("number", ["²", "١٢", "³⁴"])
def test_a_page_number_in_other_digits_is_the_first_page(client, vpn, number):
    """ "²" is a digit to str.isdigit() but no number to int(): a search (or any list, or the
    sitemap) asked for page "²" answered a server error."""
    search = client.get("/kb/search", query_string={"q": "vpn", "page": number})
    assert search.status_code == 200 and "1 article for" in search.get_data(as_text=True)
    assert client.get("/kb/it/", query_string={"page": number}).status_code == 200
    assert client.get("/kb/sitemap.xml", query_string={"page": number}).status_code == 404


def test_searches_are_counted_and_those_without_results_remembered(client, vpn):
    client.get("/kb/search?q=vpn")
    client.get("/kb/search?q=zanzibar+printer")
    client.get("/kb/search?q=zanzibar+printer")
    client.get("/kb/search?q=zanzibar+printer&page=2")  # a further page is not another search
    rows = {r.query: (r.searches, r.empty) for r in db.session.scalars(select(SearchCount))}
    assert rows == {"vpn": (1, 0), "zanzibar printer": (2, 2)}


def test_agents_searches_are_not_counted(client, app, login, desk, vpn):
    """As their reads: an agent looking up an internal article is no gap for customers."""
    login(desk.tech_it)
    client.get("/kb/search?q=escalation+runbook")
    login(desk.admin, as_client=app.test_client()).get("/kb/search?q=vpn")
    assert db.session.scalars(select(SearchCount)).all() == []
    login(desk.customer)
    client.get("/kb/search?q=escalation+runbook")
    rows = {r.query: (r.searches, r.empty) for r in db.session.scalars(select(SearchCount))}
    assert rows == {"escalation runbook": (1, 1)}


def test_an_old_slug_or_a_wrong_category_redirects_permanently(client, desk, vpn):
    articles.update_article(
        desk.tech_it,
        vpn,
        seen_version=vpn.version,
        category_id=desk.it.id,
        title="VPN keeps dropping",
        body=vpn.body,
        visibility="public",
        tags="vpn",
    )
    db.session.commit()
    old = client.get("/kb/it/vpn-drops-every-few-minutes?ref=suggestion&form=abcdefghijkl&slug=x")
    assert old.status_code == 301
    assert old.headers["Location"] == "/kb/it/vpn-keeps-dropping?ref=suggestion&form=abcdefghijkl"
    assert client.get("/kb/sales/vpn-keeps-dropping").headers["Location"] == "/kb/it/vpn-keeps-dropping"


def test_a_renamed_category_s_old_address_redirects_until_a_category_takes_it(client, login, desk, vpn):
    login(desk.admin)
    renamed = client.post(f"/admin/categories/{desk.it.id}/rename", data={"name": "Workplace IT"})
    assert renamed.status_code in (200, 302)
    assert client.get("/kb/workplace-it/").status_code == 200
    old = client.get("/kb/it/")
    assert old.status_code == 301 and old.headers["Location"] == "/kb/workplace-it/"
    assert client.get("/kb/it/vpn-drops-every-few-minutes").headers["Location"] == (
        "/kb/workplace-it/vpn-drops-every-few-minutes"
    )
    client.post(f"/admin/categories/{desk.it.id}/rename", data={"name": "IT"})  # and back
    assert client.get("/kb/it/").status_code == 200
    assert client.get("/kb/workplace-it/").headers["Location"] == "/kb/it/"
    client.post(f"/admin/categories/{desk.it.id}/rename", data={"name": "Desk IT"})
    client.post("/admin/categories", data={"name": "IT"})  # a new category takes the old address
    page = client.get("/kb/it/")
    assert page.status_code == 200 and "<h1 hx-disable>IT</h1>" in page.get_data(as_text=True)
    assert client.get("/kb/nothing-ever/").status_code == 404


def test_a_rename_that_changes_another_category_s_address_redirects_its_old_one(client, login, desk):
    """Names without Latin letters share the slug "category": the first by id has it, the others
    "category-<id>". Renaming the first gives its slug to the next, whose old address redirects."""
    login(desk.admin)
    client.post("/admin/categories", data={"name": "Сеть"})
    client.post("/admin/categories", data={"name": "Почта"})
    network, mail = (db.session.scalar(select(Category).where(Category.name == n)) for n in ("Сеть", "Почта"))
    assert client.get(f"/kb/category-{mail.id}/").status_code == 200
    client.post(f"/admin/categories/{network.id}/rename", data={"name": "Network"})
    old = client.get(f"/kb/category-{mail.id}/")
    assert old.status_code == 301 and old.headers["Location"] == "/kb/category/"
    assert "<h1 hx-disable>Почта</h1>" in client.get("/kb/category/").get_data(as_text=True)
    assert client.get("/kb/category/").status_code == 200


def test_article_page_title_description_and_cache_headers(client, login, desk, vpn):
    page = client.get(kb.url(vpn))
    html = page.get_data(as_text=True)
    assert "<title>VPN drops every few minutes · IT · Knowledge base · Help desk</title>" in html
    assert '<meta name="description" content="Update the client.">' in html
    assert f'<link rel="canonical" href="http://localhost{kb.url(vpn)}">' in html
    assert "<strong>client</strong>" in html  # Markdown, sanitised as messages are
    assert page.headers["Cache-Control"] == "private, max-age=60" and "Cookie" in page.headers["Vary"]
    login(desk.customer)
    assert client.get(kb.url(vpn)).headers["Cache-Control"] == "private, no-store"


def test_article_text_is_sanitised_exactly_like_messages(client, desk):
    item = kb.write(
        desk.tech_it,
        desk.it,
        "Tricky",
        body='<script>alert(1)</script> [x](javascript:alert(1)) <div hx-get="/x">',
    )
    db.session.commit()
    html = client.get(kb.url(item)).get_data(as_text=True)
    assert "<script>alert" not in html and "javascript:" not in html and '<div hx-get="/x">' not in html
    assert "&lt;script&gt;" in html


def test_reading_counts_views_of_readers_not_agents(client, login, desk, vpn):
    client.get(kb.url(vpn))
    login(desk.customer)
    client.get(kb.url(vpn))
    login(desk.tech_it)
    client.get(kb.url(vpn))
    assert db.session.scalar(select(ArticleDay.views)) == 2


def test_sitemap_lists_public_articles_with_cache_headers(client, desk, vpn, app, monkeypatch):
    kb.write(desk.tech_it, desk.it, "Customers only", visibility="customers")
    db.session.commit()
    sitemap = client.get("/kb/sitemap.xml")
    xml = sitemap.get_data(as_text=True)
    assert (
        sitemap.mimetype == "application/xml" and sitemap.headers["Cache-Control"] == "public, max-age=3600"
    )
    assert sitemap.last_modified is not None
    assert f"<loc>http://localhost{kb.url(vpn)}</loc>" in xml and "customers-only" not in xml
    assert "<loc>http://localhost/kb/it/</loc>" in xml
    again = client.get("/kb/sitemap.xml", headers={"If-Modified-Since": sitemap.headers["Last-Modified"]})
    assert again.status_code == 304
    monkeypatch.setitem(app.config, "KB_PUBLIC", False)
    assert client.get("/kb/sitemap.xml").status_code == 404


def test_the_sitemap_is_modified_when_an_article_leaves_it_or_a_category_is_renamed(client, desk, vpn):
    """Its Last-Modified was the newest change of an article listed now: one archived (or made
    private) since left the sitemap, yet its date stayed (or went back), and a crawler asking
    "modified since?" was told 304 and kept listing it; as after a category's rename, which
    changes the addresses of its articles."""
    from datetime import timedelta

    from helpdesk.tickets import categories

    hours_ago = kb.write(desk.tech_it, desk.it, "Printer jams")
    hours_ago.updated_at = utcnow() - timedelta(hours=2)
    vpn.updated_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    first = client.get("/kb/sitemap.xml")
    assert first.last_modified == vpn.updated_at.replace(microsecond=0)
    articles.set_status(desk.tech_it, vpn, "archived")
    db.session.commit()
    since = {"If-Modified-Since": first.headers["Last-Modified"]}
    archived = client.get("/kb/sitemap.xml", headers=since)
    assert archived.status_code == 200 and vpn.slug not in archived.get_data(as_text=True)
    assert archived.last_modified > first.last_modified
    hours_ago.updated_at = vpn.updated_at = utcnow() - timedelta(hours=1)  # settled before the rename
    db.session.commit()
    before = client.get("/kb/sitemap.xml")
    categories.rename_category(desk.admin, desk.it, "Workplace IT")
    db.session.commit()
    renamed = client.get("/kb/sitemap.xml", headers={"If-Modified-Since": before.headers["Last-Modified"]})
    assert renamed.status_code == 200 and "/kb/workplace-it/printer-jams" in renamed.get_data(as_text=True)


def test_a_long_sitemap_is_an_index_of_pages(client, desk, app, monkeypatch):
    for n in range(5):
        kb.write(desk.tech_it, desk.it, f"Public {n}")
    db.session.commit()
    monkeypatch.setitem(app.config, "KB_SITEMAP_URLS", 2)
    index = client.get("/kb/sitemap.xml").get_data(as_text=True)
    assert "<sitemapindex" in index and index.count("<sitemap>") == 3
    assert "<loc>http://localhost/kb/sitemap.xml?page=3</loc>" in index
    assert client.get("/kb/sitemap.xml?page=3").get_data(as_text=True).count("<url>") == 1
    for page in ("4", "0", "x", str(2**31)):
        assert client.get(f"/kb/sitemap.xml?page={page}").status_code == 404


def test_visitors_are_asked_to_log_in_when_the_desk_keeps_its_knowledge_base_private(
    client, app, monkeypatch, vpn
):
    monkeypatch.setitem(app.config, "KB_PUBLIC", False)
    assert client.get("/kb/").status_code == 302
    assert client.get("/kb/search?q=vpn").headers["Location"].startswith("/login")
    assert client.get(kb.url(vpn)).status_code == 404
    assert "Knowledge base</a>" not in client.get("/login").get_data(as_text=True)


def votes():
    db.session.expire_all()
    return db.session.scalars(select(Vote)).all()


def test_a_visitor_votes_once_per_browser_without_javascript(client, app, vpn):
    first = client.post(kb.url(vpn) + "/feedback", data={"helpful": "no"})
    assert first.status_code == 303
    assert first.headers["Location"] == kb.url(vpn, feedback="sent") + "#feedback"
    assert "kb_voter=" in first.headers["Set-Cookie"] and "HttpOnly" in first.headers["Set-Cookie"]
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "Sorry it did not help" in page and "What were you looking for?" in page
    client.post(kb.url(vpn) + "/feedback", data={"helpful": "yes"})  # changes the browser's vote
    assert [(v.helpful, v.user_id) for v in votes()] == [(True, None)]
    other = app.test_client()
    other.post(kb.url(vpn) + "/feedback", data={"helpful": "yes"})
    assert len(votes()) == 2


def test_a_visitors_double_click_is_one_vote(client, app, vpn):
    """A visitor's first vote, clicked twice: the second request leaves before the first's answer
    sets the browser's cookie, so neither carries it. Each was given a key of its own: two votes
    from one browser. Both come from the page's session (its form token), which names the browser."""
    client.get(kb.url(vpn))  # the page with the Yes / No form
    for _click in range(2):
        client.post(kb.url(vpn) + "/feedback", data={"helpful": "yes"})
        client.delete_cookie("kb_voter")  # not there yet when the second click leaves
    assert [(v.helpful, v.user_id) for v in votes()] == [(True, None)]
    client.post(kb.url(vpn) + "/feedback", data={"helpful": "no"})  # the browser's vote, changed
    assert [v.helpful for v in votes()] == [False]
    other = app.test_client()  # another browser: a vote of its own
    other.get(kb.url(vpn))
    other.post(kb.url(vpn) + "/feedback", data={"helpful": "yes"})
    assert sorted(v.helpful for v in votes()) == [False, True]


def test_a_visitor_who_signs_in_and_votes_again_is_one_vote(client, app, login, desk, vpn):
    client.get(kb.url(vpn))
    client.post(kb.url(vpn) + "/feedback", data={"helpful": "no"})  # as a visitor
    assert [(v.helpful, v.user_id) for v in votes()] == [(False, None)]
    login(desk.customer)  # on the same browser
    client.post(kb.url(vpn) + "/feedback", data={"helpful": "yes"})
    assert [(v.helpful, v.user_id, v.browser_key) for v in votes()] == [(True, desk.customer.id, None)]
    # Someone who had voted as themselves, then as a visitor elsewhere: still one vote, theirs.
    other = app.test_client()
    other.get(kb.url(vpn))
    other.post(kb.url(vpn) + "/feedback", data={"helpful": "no"})
    assert len(votes()) == 2
    login(desk.customer, as_client=other)
    other.post(kb.url(vpn) + "/feedback", data={"helpful": "no"})
    assert [(v.helpful, v.user_id) for v in votes()] == [(False, desk.customer.id)]


def test_a_signed_in_reader_votes_once_and_a_no_carries_a_comment(client, login, desk, vpn):
    login(desk.customer)
    voted = client.post(kb.url(vpn) + "/feedback", data={"helpful": "no"}, headers=HTMX)
    html = voted.get_data(as_text=True)
    assert voted.status_code == 200 and "<html" not in html and 'id="feedback"' in html
    assert "HX-Request" in voted.headers["Vary"]
    empty = client.post(kb.url(vpn) + "/feedback/comment", data={"comment": "  "}, headers=HTMX)
    assert "Write what you were looking for" in empty.get_data(as_text=True)
    client.post(kb.url(vpn) + "/feedback/comment", data={"comment": "The router model."}, headers=HTMX)
    client.post(kb.url(vpn) + "/feedback", data={"helpful": "no"})
    [vote] = votes()
    assert (vote.user_id, vote.helpful, vote.comment) == (desk.customer.id, False, "The router model.")
    client.post(kb.url(vpn) + "/feedback", data={"helpful": "yes"})
    assert [(v.helpful, v.comment) for v in votes()] == [(True, None)]


def test_without_javascript_a_refused_comment_comes_back_as_typed(client, login, desk, vpn):
    login(desk.customer)
    client.post(kb.url(vpn) + "/feedback", data={"helpful": "no"})
    too_long = "The router model is " + "x" * 2000
    answer = client.post(kb.url(vpn) + "/feedback/comment", data={"comment": too_long})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "<html" in page and too_long + "</textarea>" in page
    assert page.count("Your comment can be at most 2,000 characters.") == 2  # above and beside the box
    assert "Field cannot be longer" not in page
    assert [v.comment for v in votes()] == [None]
    fragment = client.post(kb.url(vpn) + "/feedback/comment", data={"comment": too_long}, headers=HTMX)
    assert "Your comment can be at most 2,000 characters." in fragment.get_data(as_text=True)


def test_a_comment_refused_after_the_vote_changed_elsewhere_is_kept(client, login, desk, vpn):
    # The reader answered No, typed a comment, and meanwhile changed the vote to Yes in another
    # tab: the comment is refused, and what they typed comes back to copy, with and without htmx.
    login(desk.customer)
    client.post(kb.url(vpn) + "/feedback", data={"helpful": "no"})
    client.post(kb.url(vpn) + "/feedback", data={"helpful": "yes"})  # the other tab
    typed = "I needed the router model & firmware."
    answer = client.post(kb.url(vpn) + "/feedback/comment", data={"comment": typed})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "<html" in page
    assert "Answer &#39;No&#39; first: comments go with a &#39;not helpful&#39; vote." in page
    assert "readonly>I needed the router model &amp; firmware.</textarea>" in page
    assert '<label for="unsent-comment">Your comment (not sent)</label>' in page
    fragment = client.post(kb.url(vpn) + "/feedback/comment", data={"comment": typed}, headers=HTMX)
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and "Answer &#39;No&#39; first" in html
    assert "readonly>I needed the router model &amp; firmware.</textarea>" in html
    assert [(v.helpful, v.comment) for v in votes()] == [(True, None)]


def test_a_draft_previewed_by_its_editor_asks_for_no_vote_and_names_nothing_missing(client, login, desk):
    """The vote is for readers of a published article: the editor's preview of a draft has none,
    and no empty feedback section pointing at the "Was this helpful?" heading it lacks."""
    draft = kb.write(desk.tech_it, desk.it, "Laptop image for new starters", status="draft")
    login(desk.tech_it)
    page = client.get(kb.url(draft)).get_data(as_text=True)
    assert "Laptop image for new starters" in page and "Was this helpful?" not in page
    assert 'id="feedback"' not in page  # no empty section either
    assert markup_problems(page) == []


def test_a_reader_who_needs_more_is_led_to_a_ticket_in_the_article_s_category(client, app, login, desk, vpn):
    """ "Still need help?" under a published article: a customer's link opens the new-ticket form
    with the article's category chosen; a visitor's signs in first and then lands there; agents
    (who answer tickets) and the editors' preview of a draft have none."""
    ask = f"/portal/tickets/new?category={desk.it.id}"
    visitor = client.get(kb.url(vpn)).get_data(as_text=True)
    sign_in = urlsplit(_link(visitor, "Log in to ask us in a ticket"))
    assert sign_in.path == "/login" and parse_qs(sign_in.query)["next"] == [ask]
    login(desk.customer)
    assert _link(client.get(kb.url(vpn)).get_data(as_text=True), "Ask us in a ticket") == ask
    form = client.get(ask).get_data(as_text=True)
    assert f'<option selected value="{desk.it.id}">IT</option>' in form
    agent = login(desk.tech_it, as_client=app.test_client())
    assert "Still need help?" not in agent.get(kb.url(vpn)).get_data(as_text=True)
    draft = kb.write(desk.tech_it, desk.it, "Printer queue stuck", status="draft")
    assert "Still need help?" not in agent.get(kb.url(draft)).get_data(as_text=True)


def _link(page, text):
    return html_lib.unescape(re.search(rf'href="([^"]+)">{re.escape(text)}</a>', page).group(1))


def test_a_search_that_found_nothing_carries_its_words_into_the_ticket(client, login, desk, vpn):
    search = {"q": "  printer   <on> fire ", "category": desk.it.id}
    visitor = urlsplit(
        _link(
            client.get("/kb/search", query_string=search).get_data(as_text=True),
            "Log in to ask us in a ticket",
        )
    )
    then = urlsplit(parse_qs(visitor.query)["next"][0])
    assert then.path == "/portal/tickets/new"
    assert parse_qs(then.query) == {"category": [str(desk.it.id)], "subject": ["printer   <on> fire"]}
    login(desk.customer)
    page = client.get("/kb/search", query_string=search)
    text = page.get_data(as_text=True)
    form = client.get(_link(text, "Ask us in a ticket")).get_data(as_text=True)
    assert 'value="printer &lt;on&gt; fire"' in form  # the reader's words, escaped, spaces tidied
    assert f'<option selected value="{desk.it.id}">IT</option>' in form
    long = client.get("/portal/tickets/new", query_string={"subject": "x" * 500}).get_data(as_text=True)
    assert f'value="{"x" * 200}"' in long  # the subject's own limit


def test_bad_votes_are_refused_with_a_message(client, vpn):
    response = client.post(kb.url(vpn) + "/feedback", data={"helpful": "maybe"}, headers=HTMX)
    assert "Choose Yes or No." in response.get_data(as_text=True) and votes() == []
    comment = client.post(kb.url(vpn) + "/feedback/comment", data={"comment": "Hello"}, headers=HTMX)
    assert "Answer" in comment.get_data(as_text=True)  # a comment goes with a 'no'


def test_suggestions_fragment_beside_the_new_ticket_form(client, login, desk, vpn):
    login(desk.customer)
    form = client.get("/portal/tickets/new").get_data(as_text=True)
    assert (
        'id="kb-suggestions"' in form
        and 'hx-trigger="load, input changed delay:400ms, change from:#category"' in form
    )
    assert (
        '<select id="category"' in form or 'id="category" name="category"' in form
    )  # a new category reorders
    key = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', form).group(1)
    suggest = html_lib.unescape(re.search(r'hx-get="(/kb/suggest\?[^"]+)"', form).group(1))
    fragment = client.get(suggest + "&subject=VPN+drops", headers=HTMX)
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and "HX-Request" in fragment.headers["Vary"]
    link = html_lib.unescape(re.search(r'href="([^"]+)" target="_blank"', html).group(1))
    assert urlsplit(link).path == kb.url(vpn)
    assert parse_qs(urlsplit(link).query)["ref"] == ["suggestion"]
    client.get(link)
    client.get(link)  # a reload counts once
    clicks = db.session.scalars(select(SuggestionClick)).all()
    assert [(c.user_id, c.form_key, c.article_id) for c in clicks] == [(desk.customer.id, key, vpn.id)]


def test_only_a_form_key_the_server_handed_out_counts_a_suggestion(client, login, app, desk, make, vpn):
    """Deflections are not made up: a form key typed into the link (30 of them counted 30), a
    signed key with another key or customer, or a key sent to the suggestions by hand count
    nothing; the genuine link counts once however often it is opened."""
    login(desk.customer)
    for n in range(30):
        client.get(kb.url(vpn, ref="suggestion", form=f"made-up-form-{n:04d}"))
    assert db.session.scalars(select(SuggestionClick)).all() == []
    genuine = suggestion_link(client, vpn)
    payload, signature = parse_qs(urlsplit(genuine).query)["form"][0].split(".")
    other = make.customer()
    other_form = login(other, as_client=app.test_client())
    others = suggestion_link(other_form, vpn)
    for forged in (f"{payload}.{signature[::-1]}", f"{payload[:-2]}xx.{signature}"):
        client.get(kb.url(vpn, ref="suggestion", form=forged))
    client.get(others)  # another customer's link, opened by this one
    by_hand = client.get("/kb/suggest", query_string={"subject": "VPN", "submission_key": "k" * 32})
    assert "ref=suggestion" not in by_hand.get_data(as_text=True)  # no key it did not hand out
    assert db.session.scalars(select(SuggestionClick)).all() == []
    for _ in range(3):
        client.get(genuine)
    clicks = db.session.scalars(select(SuggestionClick)).all()
    assert [(c.user_id, c.article_id) for c in clicks] == [(desk.customer.id, vpn.id)]


def suggestion_link(client, item):
    """The link to `item` (a VPN article) that the new-ticket form's suggestions give its customer."""
    form = client.get("/portal/tickets/new").get_data(as_text=True)
    suggest = html_lib.unescape(re.search(r'hx-get="(/kb/suggest\?[^"]+)"', form).group(1))
    html = client.get(suggest + "&subject=VPN", headers=HTMX).get_data(as_text=True)
    link = html_lib.unescape(re.search(r'href="([^"]+)" target="_blank"', html).group(1))
    assert urlsplit(link).path == kb.url(item)
    return link


def test_suggestions_without_words_or_matches_are_empty(client, login, desk, vpn):
    login(desk.customer)
    for subject in ("", "a", "the and of", "zanzibar"):
        html = client.get("/kb/suggest", query_string={"subject": subject}, headers=HTMX).get_data(
            as_text=True
        )
        assert "<li>" not in html


def test_the_new_ticket_form_submits_the_same_without_javascript(client, login, desk):
    """The suggestions are an extra: the form posts exactly its old fields."""
    login(desk.customer)
    response = client.post(
        "/portal/tickets/new",
        data={
            "category": desk.it.id,
            "priority": desk.ref.priorities["Normal"].id,
            "subject": "VPN drops",
            "body": "Since Monday.",
            "submission_key": "k" * 32,
        },
    )
    assert response.status_code == 302


def test_the_search_box_offers_the_categories_the_reader_reads_from_one_read_of_them(
    app, client, login, desk, vpn
):
    """The search page's category choices hold only categories with an article the viewer may read
    (an agents-only article's category is not offered to a customer, and is to an agent), and its
    links carry every category's slug: both from one read of the categories per page."""
    from sqlalchemy import event

    kb.write(desk.tech_sales, desk.sales, "Discount rules for resellers", visibility="agents", tags="vpn")
    db.session.commit()

    def choices(html):
        box = html.split('name="category"', 1)[1].split("</select>", 1)[0]
        return re.findall(r"<option value=\"\d+\"[^>]*>([^<]+)</option>", box)

    statements = []

    def record(conn, cursor, statement, *args):
        if re.search(r"\bFROM categories\b", statement):
            statements.append(statement)

    login(desk.customer)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        html = client.get("/kb/search?q=vpn").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert choices(html) == ["IT"]
    assert kb.url(vpn) in html and "Discount rules" not in html
    assert len(statements) == 1

    login(desk.tech_it)
    html = client.get("/kb/search?q=vpn").get_data(as_text=True)
    assert choices(html) == ["IT", "Sales"]
    assert 'href="/kb/sales/discount-rules-for-resellers"' in html


def test_agents_see_which_articles_are_internal_in_results_and_lists(client, login, desk, vpn):
    """An agent answering a customer tells at a glance which article the customer cannot open;
    customers never see those articles, nor the badge."""
    kb.write(desk.tech_it, desk.it, "VPN escalation runbook", visibility="agents", tags="vpn")
    db.session.commit()
    badge = '<span class="badge badge-internal">Agents only</span>'
    login(desk.tech_it)
    for address in ("/kb/search?q=vpn", "/kb/it/"):
        html = client.get(address).get_data(as_text=True)
        assert f"VPN escalation runbook</a> {badge}" in html, address
        assert html.count(badge) == 1, address  # the customers' article has none
    login(desk.customer)
    html = client.get("/kb/search?q=vpn").get_data(as_text=True)
    assert "VPN drops every few minutes" in html and "escalation" not in html and badge not in html
