"""Branding (/admin/branding): the desk's name, accent colour and logo, shown on every page; bad
input is refused with a message on its field and saves nothing; only admins see the page."""

import io
import re
import struct
import zlib
from datetime import timedelta

import pytest
from sqlalchemy import event

from helpdesk.branding.models import DeskSettings
from helpdesk.extensions import db
from helpdesk.tickets import storage
from helpdesk.tickets.models import Attachment
from helpdesk.tickets.upload_cleaning import clean_staged

from .test_agent_queue import counted_queries


def png(width=2, height=2):
    """A real PNG image of `width` x `height` blue pixels."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x1f\x5f\xbf" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def huge_png_header(width=12000, height=12000):
    """A PNG whose valid header says `width` x `height` (432 megapixels) over a few bytes of data:
    what a decompression bomb looks like before it is decoded."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    ihdr = struct.pack(">I", len(header)) + b"IHDR" + header + struct.pack(">I", zlib.crc32(b"IHDR" + header))
    return png()[:8] + ihdr + png()[33:]


def post(client, name="", accent="", logo=None, filename="logo.png"):
    data = {"name": name, "accent": accent}
    if logo is not None:
        data["logo"] = (io.BytesIO(logo), filename)
    return client.post("/admin/branding", data=data, content_type="multipart/form-data")


def text(response):
    return response.get_data(as_text=True)


def title(page):
    return re.search(r"<title>(.*?)</title>", page, re.S)[1]


def header_brand(page):
    return re.search(r'<a class="brand[^"]*"[^>]*>(.*?)</a>', page, re.S)[1]


@pytest.fixture
def admin(make, login):
    user = make.admin()
    db.session.commit()
    login(user)
    return user


def test_the_default_desk_looks_as_shipped(client, make, login):
    login(make.customer())
    page = text(client.get("/portal/tickets"))
    assert title(page).endswith("· Help desk")
    assert header_brand(page) == "Help desk"
    assert "/branding.css" not in page and 'class="brand-logo"' not in page
    assert "--accent" not in text(client.get("/branding.css"))  # answers, with no rules


def test_admin_sets_name_and_accent_and_every_page_shows_them(client, admin, make, login):
    response = post(client, name="Acme Support", accent="#0B5CAD")
    assert response.status_code == 302
    follow = text(client.get("/admin/branding"))
    assert "Branding saved." in follow
    assert 'value="#0b5cad"' in follow
    customer = make.customer()
    technician = make.technician()
    db.session.commit()
    for user, path in ((admin, "/admin/"), (customer, "/portal/tickets"), (technician, "/agent/")):
        login(user)
        page = text(client.get(path))
        assert title(page).endswith("· Acme Support"), path
        assert header_brand(page) == "Acme Support"
        link = re.search(r'<link rel="stylesheet" href="(/branding\.css\?v=[0-9]+)">', page)[1]
    client.post("/logout")
    login_page = text(client.get("/login"))
    assert "Acme Support" in title(login_page)  # visitors too
    css = client.get(link)
    assert css.mimetype == "text/css"
    assert ":root { --accent: #0b5cad; --on-accent: #fff; }" in text(css)
    assert "prefers-color-scheme: dark" in text(css)  # a lighter accent for the dark scheme


def test_the_stylesheet_is_revalidated_by_etag_which_changes_with_the_settings(client, admin):
    post(client, name="Acme", accent="#0b5cad")
    first = client.get("/branding.css")
    assert "no-cache" in first.headers["Cache-Control"] and first.headers["ETag"]
    again = client.get("/branding.css", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    post(client, name="Acme", accent="#7a1f5c")
    changed = client.get("/branding.css", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and "#7a1f5c" in text(changed)


def test_dark_scheme_accent_reads_on_the_dark_background():
    from helpdesk.branding import settings

    light = "#0b5cad"
    dark = settings.dark_accent(light)
    assert settings.contrast(dark, settings.DARK_BACKGROUND) >= 4.5
    assert settings.contrast(dark, settings.DARK_ON_ACCENT) >= 4.5


@pytest.mark.parametrize(
    ("accent", "message"),
    [
        (
            "#ffd700",
            "Accent colour #ffd700 has a contrast of 1.40:1 with white text; it needs at least 4.5:1",
        ),
        ("#777777", "Accent colour #777777 has a contrast of 4.47:1 with white text"),
        ("blue-ish", "Accent colour: enter a colour as #rrggbb, e.g. #1f5fbf."),
        ("#12345", "Accent colour: enter a colour as #rrggbb"),
    ],
)
def test_a_bad_accent_is_refused_with_its_message_and_nothing_is_saved(client, admin, accent, message):
    response = post(client, name="Should not stick", accent=accent)
    assert response.status_code == 422
    page = text(response)
    assert message in page
    assert 'id="accent-errors"' in page and 'aria-invalid="true"' in page
    assert db.session.scalar(db.select(DeskSettings)) is None
    assert header_brand(page) == "Help desk"


def test_a_logo_is_shown_in_the_header_served_with_an_etag_and_removed(client, admin, make, login, app):
    image = png()
    assert post(client, name="Acme", logo=image).status_code == 302
    row = db.session.scalar(db.select(DeskSettings))
    customer = make.customer()
    db.session.commit()
    login(customer)
    page = text(client.get("/portal/tickets"))
    src = re.search(r'<img class="brand-logo" src="([^"]+)" alt="">Acme</a>', page)[1]
    assert src == f"/branding/logo/{row.logo_id}"
    served = client.get(src)
    assert served.status_code == 200 and served.mimetype == "image/png" and served.data == image
    served.close()
    assert client.get(src, headers={"If-None-Match": served.headers["ETag"]}).status_code == 304
    assert ".brand.brand-custom::before { content: none; }" in text(client.get("/branding.css"))
    # The sweep of abandoned uploads keeps it (row and file).
    clean_staged(older_than=timedelta(0))
    db.session.commit()
    kept = db.session.get(Attachment, row.logo_id)
    assert kept is not None and storage.backend().exists(kept.storage_name)
    login(admin)
    asked = client.post("/admin/branding/logo/remove", data={})
    assert "Remove the logo?" in text(asked)  # asks first
    assert db.session.get(DeskSettings, 1).logo_id is not None
    done = client.post("/admin/branding/logo/remove", data={"confirmed_action": "yes"})
    assert done.status_code == 302
    assert db.session.get(DeskSettings, 1).logo_id is None
    assert db.session.scalar(db.select(db.func.count()).select_from(Attachment)) == 0
    assert client.get(src).status_code == 404
    page = text(client.get("/admin/"))
    assert 'class="brand-logo"' not in page and header_brand(page) == "Acme"


def test_a_new_logo_replaces_the_old_one_and_its_file(client, admin, app):
    post(client, name="Acme", logo=png())
    first = db.session.scalar(db.select(Attachment))
    post(client, name="Acme", logo=png(3, 3))
    files = db.session.scalars(db.select(Attachment)).all()
    assert len(files) == 1 and files[0].id != first.id
    assert storage.backend(app).open(first.storage_name) is None


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("logo", "filename", "message"),
    [
        (SVG, "logo.svg", "logo.svg: SVG logos are not accepted, because an SVG file can carry script."),
        (SVG, "logo.png", "logo.png: SVG logos are not accepted"),  # an SVG by its content, whatever its name
        (png() + b"\x00" * 2048, "big.png", "big.png: the logo is larger than the 2 KB limit."),
        (b"GIF89a" + b"\x00" * 20, "anim.gif", "anim.gif: a logo must be a PNG, JPEG or WebP image."),
        (b"not an image at all", "fake.png", "fake.png: the content is not a valid .png file."),
        (png()[:40], "cut.png", "cut.png: the image cannot be read (it may be cut short or damaged)."),
        (
            huge_png_header(),
            "huge.png",
            "huge.png: the logo is 12,000 × 12,000 pixels; use one at most 4,000 pixels wide and high.",
        ),
        (
            huge_png_header(20000, 20000),  # past twice Pillow's limit: refused before it opens
            "bomb.png",
            "bomb.png: the logo has far too many pixels; use one at most 4,000 pixels wide and high.",
        ),
    ],
)
def test_a_bad_logo_is_refused_with_its_message_and_nothing_is_saved(
    app, monkeypatch, client, admin, logo, filename, message
):
    monkeypatch.setitem(app.config, "BRANDING_LOGO_MAX_BYTES", 2048)  # small bodies: no spooled test files
    response = post(client, name="Acme", accent="#0b5cad", logo=logo, filename=filename)
    assert response.status_code == 422
    page = text(response)
    assert message in page and 'id="logo-errors"' in page
    assert db.session.scalar(db.select(DeskSettings)) is None
    assert db.session.scalar(db.select(db.func.count()).select_from(Attachment)) == 0


def test_the_logo_in_an_s3_bucket(client, admin, s3_storage):
    image = png()
    post(client, name="Acme", logo=image)
    row = db.session.scalar(db.select(DeskSettings))
    served = client.get(f"/branding/logo/{row.logo_id}")
    assert served.data == image
    served.close()


@pytest.mark.parametrize("role", ["customer", "technician"])
def test_only_admins_see_the_branding_page(client, login, make, role):
    user = getattr(make, role)()
    db.session.commit()
    login(user)
    assert client.get("/admin/branding").status_code == 404
    assert post(client, name="Hijacked").status_code == 404
    assert client.post("/admin/branding/logo/remove", data={"confirmed_action": "yes"}).status_code == 404
    assert db.session.scalar(db.select(DeskSettings)) is None


def test_branding_is_listed_among_the_admin_sections(client, admin):
    page = text(client.get("/admin/"))
    assert '<a href="/admin/branding">Branding</a>' in page
    assert re.search(
        r'<a href="/admin/branding" aria-current="page">Branding</a>', text(client.get("/admin/branding"))
    )


def test_the_form_works_without_javascript(client, admin):
    page = text(client.get("/admin/branding"))
    form = re.search(r'<form method="post" action="/admin/branding" enctype="multipart/form-data"', page)
    assert form and "hx-" not in page.split("<main", 1)[1].split("</main>")[0]
    for label in ("Desk name", "Accent colour", "Logo"):
        assert re.search(rf'<label for="\w+">{label}</label>', page)


def test_mail_is_sent_under_the_desk_name_and_signed_with_it(client, admin):
    from helpdesk.dbtypes import utcnow
    from helpdesk.mail.compose import build_email, render_mail
    from helpdesk.mail.models import OutboxMessage

    row = OutboxMessage(to_addr="a@example.com", subject="Hi", message_id="<x@example.com>", body_text="Hi")
    row.created_at = utcnow()
    assert build_email(row)["From"].startswith("Help desk <")  # MAIL_FROM_NAME until a name is set
    post(client, name="Acme Support")
    assert build_email(row)["From"].startswith("Acme Support <")
    footer = render_mail("mail/_layout.txt", {"recipient": None, "ticket": None, "reply_marker": None})
    assert "Acme Support. This message was sent automatically." in footer


def test_branding_costs_no_query_of_its_own_on_an_agents_page(client, login, desk):
    """Its values come in the layout's one query of counts: an agent's page runs as many
    queries with branding as without."""
    login(desk.tech_it)
    with counted_queries() as before:
        assert client.get("/agent/").status_code == 200
    db.session.add(DeskSettings(id=1, name="Acme", accent="#0b5cad"))
    db.session.commit()
    with counted_queries() as after:
        page = text(client.get("/agent/"))
    assert header_brand(page) == "Acme"
    assert len(after) == len(before)
    assert sum("desk_settings" in statement for statement in after) == 1  # inside the layout's query


def test_htmx_fragments_read_no_branding(client, login, desk):
    login(desk.tech_it)
    seen = []

    def record(conn, cursor, statement, *args):
        if "desk_settings" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        client.get("/agent/?status=all", headers={"HX-Request": "true"})
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert seen == []
