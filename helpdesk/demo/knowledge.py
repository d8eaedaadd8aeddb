"""Demo knowledge base: a few articles in each demo category (public, customers' and agents' own,
a draft), one with a second revision, and some reads and votes for the home page and the report."""

from datetime import timedelta

from sqlalchemy import func, select

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.kb import articles
from helpdesk.kb.models import Article, ArticleDay, Vote

VPN_TITLE = "VPN drops every few minutes"
VPN_BODY = (
    "If your VPN connection drops every few minutes, it is almost always the network in between "
    "rather than the VPN itself.\n\n"
    "1. **Update the client.** Versions before 5.3 drop the tunnel when the laptop changes Wi-Fi "
    "access point. *Help › About* shows your version; the portal has the current one.\n"
    "2. **Turn off Wi-Fi power saving.** On Windows: *Device Manager › Network adapters › your Wi-Fi "
    'adapter › Power Management*, untick "Allow the computer to turn off this device".\n'
    "3. **Try a cable or your phone's hotspot** for ten minutes. If the drops stop, your router is "
    "the cause: restart it, or ask your provider about its firmware.\n\n"
    "Still dropping? Open a ticket with the client's log (*Help › Export log*) attached."
)
VPN_EXTRA = (
    '\n\n## On a home router with "band steering"\n'
    "Routers that move devices between 2.4 GHz and 5 GHz break the tunnel at each move. Give the "
    "5 GHz network its own name and connect to that one only."
)

ARTICLES = (
    ("IT", VPN_TITLE, "public", "vpn, wi-fi, remote work", VPN_BODY, True),
    (
        "IT",
        "Reset your password",
        "public",
        "password, account",
        "Use **Forgot your password?** on the sign-in page. The link we mail you works for one hour, and "
        "only the newest link works: if you asked twice, use the second mail.\n\nNo mail after five "
        "minutes? Check the spam folder, then ask your administrator to confirm your address.",
        True,
    ),
    (
        "IT",
        "Printer shows as offline",
        "customers",
        "printer",
        "1. Check that the printer's display shows no error.\n2. Remove the printer from *Settings › "
        "Printers* and add it again by its name (floor and number, e.g. `PRN-3-01`).\n3. Colleagues can "
        "print but you cannot? Restart the *Print Spooler* service or your laptop.",
        True,
    ),
    (
        "IT",
        "Two-factor codes are not arriving",
        "customers",
        "two-factor, account",
        "Codes by text message can take a few minutes on a weak signal. An authenticator app works "
        "offline: set it up from your profile, and keep the recovery codes somewhere safe.",
        True,
    ),
    (
        "IT",
        "Phishing reports: what to check first",
        "agents",
        "security, phishing",
        "Ask for the full headers (not a forward). Check `Authentication-Results` for DMARC, look up the "
        "link's real domain, and if anyone entered a password, reset it and end their sessions at once.",
        True,
    ),
    (
        "IT",
        "Laptop image for new starters",
        "agents",
        "laptop, onboarding",
        "Draft: the standard image, the accounts to create, and the checklist to hand over with it.",
        False,
    ),
    (
        "Sales",
        "Volume and education discounts",
        "public",
        "pricing, discount",
        "From 50 seats we offer a volume discount, and schools and universities get education pricing. "
        "Ask for a quote with the number of seats and the billing period you want.",
        True,
    ),
    (
        "Sales",
        "Changing plan in the middle of a term",
        "customers",
        "plan, upgrade",
        "An upgrade starts at once and you pay the difference for the rest of the term; a downgrade "
        "starts at the next renewal. Your data and settings stay as they are.",
        True,
    ),
    (
        "Sales",
        "Preparing a product demo",
        "agents",
        "demo",
        "Book 30 minutes, ask for the team's three main questions beforehand, and use the demo desk "
        "(`make run`) with its sample tickets rather than a customer's data.",
        True,
    ),
    (
        "Billing",
        "Update the card used at renewal",
        "public",
        "card, renewal, payment",
        "Open **Billing** and choose *Manage card or cancel*. A renewal that failed is tried again after "
        "you update the card; you keep your credits meanwhile.",
        True,
    ),
    (
        "Billing",
        "VAT numbers and purchase-order numbers on invoices",
        "customers",
        "invoice, vat",
        "Send us the VAT number as registered (with its country prefix) and, if your finance team needs "
        "one, the purchase-order number: both appear on every invoice from then on.",
        True,
    ),
    (
        "Billing",
        "Handling a double charge",
        "agents",
        "refund, card",
        "Two identical charges a few seconds apart are usually one charge and one authorisation that "
        "expires within 7 days. Check the payment page before refunding anything.",
        True,
    ),
)
AUTHORS = {"IT": "it.tech@example.com", "Sales": "sales.tech@example.com", "Billing": "admin@example.com"}
READS = {
    VPN_TITLE: 42,
    "Reset your password": 31,
    "Update the card used at renewal": 18,
    "Printer shows as offline": 9,
}


def seed_knowledge_base(users, categories):
    """The demo articles (idempotent: an article whose title exists is left as it is). Returns how
    many were created."""
    created = 0
    for category, title, visibility, tags, body, publish in ARTICLES:
        if db.session.scalar(select(Article.id).where(Article.title == title)) is not None:
            continue
        author = users[AUTHORS[category]]
        article = articles.create_article(
            author,
            category_id=categories[category].id,
            title=title,
            body=body,
            visibility=visibility,
            tags=tags,
            publish=publish,
        )
        if title == VPN_TITLE:  # a second revision, to compare and restore
            articles.update_article(
                author,
                article,
                seen_version=article.version,
                category_id=article.category_id,
                title=title,
                body=body + VPN_EXTRA,
                visibility=visibility,
                tags=tags,
            )
        created += 1
    if created and not db.session.scalar(select(func.count()).select_from(ArticleDay)):
        _seed_reads(users)
    db.session.flush()
    return created


def _seed_reads(users):
    """Reads over the last days and a few votes, so the home page has popular articles and the
    knowledge-base report has figures."""
    today = utcnow().date()
    by_title = {a.title: a for a in db.session.scalars(select(Article))}
    for title, reads in READS.items():
        for days_ago in range(3):
            db.session.add(
                ArticleDay(
                    article_id=by_title[title].id, day=today - timedelta(days=days_ago), views=reads // 3
                )
            )
    now = utcnow()
    for email, title, helpful, comment in (
        ("alice@example.com", VPN_TITLE, True, None),
        ("bob@example.com", VPN_TITLE, True, None),
        (
            "john@example.com",
            "Printer shows as offline",
            False,
            "My printer is not on a floor: it is at home.",
        ),
        ("dave@acme.example", "Reset your password", True, None),
    ):
        db.session.add(
            Vote(
                article_id=by_title[title].id,
                user_id=users[email].id,
                helpful=helpful,
                comment=comment,
                created_at=now,
                updated_at=now,
            )
        )
