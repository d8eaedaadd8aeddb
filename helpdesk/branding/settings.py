"""The desk's name, accent colour and logo: read once per page (in the layout's one query of
counts for signed-in users), changed by admins.

Reading: `current()` gives a `Branding` snapshot. For a signed-in user's full page its values come
from the layout's single query (web.register_layout_count), so branding costs no query of its own
there; for visitors (sign-in page, public knowledge base) and outside requests (mail composed by
the worker) it is one primary-key read of a one-row table. Nothing is cached between requests:
every app server sees a change with its next request.
"""

import io
import math
import warnings
from dataclasses import dataclass

from flask import current_app, has_request_context, request
from flask_login import current_user
from sqlalchemy import select

from helpdesk.branding.models import SETTINGS_ID, DeskSettings
from helpdesk.dbtypes import utcnow
from helpdesk.errors import StaleUpdate, ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import uploads

DEFAULT_NAME = "Help desk"
MIN_CONTRAST = 4.5  # WCAG AA for normal text: white text on the accent (buttons, the admin tabs)
LOGO_TYPES = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WebP"}
DARK_BACKGROUND = "#12161c"  # app.css, dark scheme: --bg
DARK_ON_ACCENT = "#0b1220"  # app.css, dark scheme: --on-accent


class BrandingRefused(ValidationFailed):
    """A branding value broke a rule; `field` names the form field it belongs to."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


class BrandingStale(StaleUpdate):
    """The branding was saved (or its logo removed) by someone else after the form was opened:
    nothing was saved. `row` is the current settings row."""

    def __init__(self, row):
        self.row = row
        super().__init__("The branding was changed after you opened this page: nothing was saved.")


def version_of(row):
    """What the form carries of the settings it shows: their last save ("none": as shipped)."""
    return row.changed_at.strftime("%Y%m%d%H%M%S%f") if row is not None and row.changed_at else "none"


@dataclass(frozen=True)
class Branding:
    """What every page shows of the branding (plain data: pages' ETags cover it)."""

    name: str = DEFAULT_NAME
    accent: str | None = None
    logo_id: int | None = None
    changed_at: object = None  # None: no settings row, the desk looks as shipped

    @property
    def version(self):
        """A short token that changes with every save (the stylesheet and logo URLs carry it)."""
        return self.changed_at.strftime("%Y%m%d%H%M%S%f") if self.changed_at else ""

    @property
    def customised(self):
        return self.changed_at is not None


def _field(column):
    return select(column).where(DeskSettings.id == SETTINGS_ID).scalar_subquery()


# The layout's values (web.register_layout_count): one scalar subquery per column of the row.
LAYOUT_VALUES = {
    "brand_name": lambda: _field(DeskSettings.name),
    "brand_accent": lambda: _field(DeskSettings.accent),
    "brand_logo": lambda: _field(DeskSettings.logo_id),
    "brand_changed": lambda: _field(DeskSettings.changed_at),
}


def _snapshot(name, accent, logo_id, changed_at):
    return Branding(name=name or DEFAULT_NAME, accent=accent, logo_id=logo_id, changed_at=changed_at)


def read():
    """The branding as stored now (one query)."""
    row = db.session.get(DeskSettings, SETTINGS_ID)
    if row is None:
        return Branding()
    return _snapshot(row.name, row.accent, row.logo_id, row.changed_at)


def current():
    """The branding for this request (read once per request), or as stored now outside one."""
    if not has_request_context():
        return read()
    found = getattr(request, "_helpdesk_branding", None)
    if found is None:
        found = request._helpdesk_branding = _for_request()
    return found


def _for_request():
    from helpdesk.web import layout_count

    user = current_user._get_current_object()  # None outside a request
    if user is not None and user.is_authenticated:
        return _snapshot(*(layout_count(name) for name in LAYOUT_VALUES))
    return read()


def desk_name():
    """The desk's name, for pages and mail."""
    return current().name


# Colours -----------------------------------------------------------------------------------------


def parse_colour(raw):
    """'#RRGGBB' or 'rrggbb' -> '#rrggbb'; None when it is not such a colour."""
    text = (raw or "").strip().lower()
    if not text.startswith("#"):
        text = "#" + text
    if len(text) != 7 or any(ch not in "0123456789abcdef" for ch in text[1:]):
        return None
    return text


def _channels(colour):
    return [int(colour[i : i + 2], 16) for i in (1, 3, 5)]


def luminance(colour):
    """WCAG 2 relative luminance of '#rrggbb'."""
    linear = []
    for value in _channels(colour):
        c = value / 255
        linear.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first, second):
    """WCAG 2 contrast ratio of two colours (1 to 21)."""
    a, b = sorted((luminance(first), luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def shown_ratio(ratio):
    """4.4871 -> '4.48' (rounded down, so a refused colour never reads as 4.50)."""
    return f"{math.floor(ratio * 100) / 100:.2f}"


def dark_accent(colour):
    """The accent for the dark colour scheme: the colour lightened towards white until it reads on
    the dark background and under the dark scheme's text on buttons (both at least 4.5:1)."""
    channels = _channels(colour)
    for step in range(21):
        t = step / 20
        mixed = "#" + "".join(f"{round(c + (255 - c) * t):02x}" for c in channels)
        if (
            contrast(mixed, DARK_BACKGROUND) >= MIN_CONTRAST
            and contrast(mixed, DARK_ON_ACCENT) >= MIN_CONTRAST
        ):
            return mixed
    return "#ffffff"


def check_accent(raw):
    """The accent to store ('#rrggbb', or None for the default); BrandingRefused when it is not a
    colour or white text on it falls below WCAG AA (the message gives the measured ratio)."""
    if not (raw or "").strip():
        return None
    colour = parse_colour(raw)
    if colour is None:
        raise BrandingRefused("accent", "Accent colour: enter a colour as #rrggbb, e.g. #1f5fbf.")
    ratio = contrast(colour, "#ffffff")
    if ratio < MIN_CONTRAST:
        raise BrandingRefused(
            "accent",
            f"Accent colour {colour} has a contrast of {shown_ratio(ratio)}:1 with white text; "
            f"it needs at least {MIN_CONTRAST}:1 (WCAG AA). Choose a darker colour.",
        )
    return colour


# Logo --------------------------------------------------------------------------------------------


def logo_limit():
    return current_app.config["BRANDING_LOGO_MAX_BYTES"]


def check_logo(raw_name, data):
    """A logo that may be stored: PNG, JPEG or WebP within the size limit, passing the
    attachments' checks (name, type, content). BrandingRefused otherwise, naming the reason."""
    filename = uploads.normalise_filename(raw_name) or "the file"
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    head = data[:512].lstrip().lower()
    if ext == "svg" or head.startswith((b"<svg", b"<?xml")) or b"<svg" in head:
        raise BrandingRefused(
            "logo",
            f"{filename}: SVG logos are not accepted, because an SVG file can carry script. "
            "Upload a PNG, JPEG or WebP image.",
        )
    if ext not in LOGO_TYPES:
        raise BrandingRefused("logo", f"{filename}: a logo must be a PNG, JPEG or WebP image.")
    if len(data) > logo_limit():
        raise BrandingRefused(
            "logo", f"{filename}: the logo is larger than the {uploads.human_size(logo_limit())} limit."
        )
    try:
        checked = uploads.check_upload(raw_name, data)
    except ValidationFailed as exc:
        raise BrandingRefused("logo", str(exc)) from None
    if ext == "webp" and data[8:12] != b"WEBP":
        raise BrandingRefused("logo", f"{filename}: the content is not a valid .webp file.")
    _check_pixels(filename, data)
    return checked


MAX_LOGO_SIDE = 4000  # pixels; the header shows a logo a few hundred pixels wide at most


def _check_pixels(filename, data):
    """The image decodes whole (not cut short or damaged) and is of a sensible size: every page
    shows it, so a broken or 400-megapixel logo would cost every visitor. Pillow reads the size
    from the header before decoding anything, so a huge image is refused without being decoded."""
    from PIL import Image

    too_big = f"use one at most {MAX_LOGO_SIDE:,} pixels wide and high."
    try:
        with warnings.catch_warnings():  # Pillow's warning of a huge header: refused below anyway
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
        with opened as image:
            width, height = image.size
            if max(width, height) > MAX_LOGO_SIDE:
                raise BrandingRefused(
                    "logo",
                    f"{filename}: the logo is {width:,} × {height:,} pixels; {too_big}",
                )
            image.load()
    except BrandingRefused:
        raise
    except Image.DecompressionBombError:  # more than twice Pillow's limit: not even opened
        raise BrandingRefused("logo", f"{filename}: the logo has far too many pixels; {too_big}") from None
    except (OSError, SyntaxError, ValueError):
        raise BrandingRefused(
            "logo", f"{filename}: the image cannot be read (it may be cut short or damaged)."
        ) from None


def _row(actor):
    row = db.session.get(DeskSettings, SETTINGS_ID)
    if row is None:
        row = DeskSettings(id=SETTINGS_ID)
        db.session.add(row)
    row.changed_by_id = actor.id
    row.changed_at = utcnow()
    return row


def save(actor, *, name, accent, logo=None, seen=None):
    """Store the desk's name (empty: the default), accent (empty: the default) and, when given as
    (filename, bytes), a new logo replacing the old one. Guarantees: every value is checked before
    anything is written (one refusal saves nothing); the old logo's file goes once this commits.
    `seen`: version_of the settings the form showed; BrandingStale when they changed since (None:
    not checked). The row is locked until commit (SQLite: writers take turns)."""
    current = db.session.scalar(select(DeskSettings).where(DeskSettings.id == SETTINGS_ID).with_for_update())
    if current is not None:
        db.session.refresh(current)
    if seen is not None and seen != version_of(current):
        raise BrandingStale(current)
    accent = check_accent(accent)
    checked = check_logo(*logo) if logo is not None else None
    row = _row(actor)
    row.name = (name or "").strip() or None
    row.accent = accent
    if checked is not None:
        old = row.logo
        row.logo = uploads.store(checked, None, None, actor)
        if old is not None:
            db.session.flush()
            uploads.remove_attachment(old)
    db.session.flush()
    return row


def remove_logo(actor):
    """Go back to the stock logo; the uploaded file goes once this commits."""
    row = db.session.get(DeskSettings, SETTINGS_ID)
    if row is None or row.logo is None:
        return False
    old = row.logo
    row.logo = None
    row.changed_by_id = actor.id
    row.changed_at = utcnow()
    db.session.flush()
    uploads.remove_attachment(old)
    return True


def logo_file(logo_id):
    """The stored logo (its Attachment row) when `logo_id` is the current one, else None."""
    row = db.session.get(DeskSettings, SETTINGS_ID)
    if row is None or row.logo_id is None or row.logo_id != logo_id:
        return None
    return row.logo


def kept_logo():
    """SQL condition on Attachment: the row is the desk's logo (for uploads.keep_files)."""
    from helpdesk.tickets.models import Attachment

    return Attachment.id.in_(select(DeskSettings.logo_id).where(DeskSettings.logo_id.is_not(None)))


def sender_name():
    """The name mail is sent under: the desk's name once an admin set one, else MAIL_FROM_NAME."""
    row = db.session.get(DeskSettings, SETTINGS_ID)
    return (row.name if row is not None else None) or current_app.config["MAIL_FROM_NAME"]
