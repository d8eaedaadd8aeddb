"""Reading inbound mail tolerantly: addresses, threading ids, loop markers (bounces, list mail,
auto-replies), Authentication-Results, body text, attachments."""

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.parser import BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser

from helpdesk.mail.compose import REPLY_MARKER

_MSGID = re.compile(r"<[^<>\s]{1,250}>")
_ATTRIBUTION = re.compile(
    r"^\s*(On\b.{0,300}\bwrote:|Am\b.{0,300}\bschrieb\b.{0,100}:|Le\b.{0,300}\ba écrit\s*:)\s*$"
)
_OUTLOOK = re.compile(r"^\s*(-{2,}\s*Original Message\s*-{2,}|_{20,})\s*$", re.IGNORECASE)
# Outlook's header block of the quoted mail ("From: … / Sent: … / To: … / Subject: …"), also in
# German, French, Dutch, Spanish and Italian: a From line, a Sent/Date line among the next two,
# and a Subject line among the five after it.
_HEADER_FROM = re.compile(r"^\s*\*?(From|Von|De|Van|Da)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_SENT = re.compile(
    r"^\s*\*?(Sent|Date|Gesendet|Datum|Envoyé|Verzonden|Enviado|Fecha|Inviato|Data)\s*:", re.IGNORECASE
)
_HEADER_SUBJECT = re.compile(r"^\s*\*?(Subject|Betreff|Objet|Onderwerp|Asunto|Oggetto)\s*:", re.IGNORECASE)
# What html_to_text writes where Outlook's HTML starts the quoted mail (<div id="divRplyFwdMsg">,
# or the top-bordered block of Outlook for Windows): the line Outlook's own text part has there.
OUTLOOK_SEPARATOR = "_" * 32
RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
MAX_ADDRESS_HEADER = 20_000  # characters of one address header that are read (some 500 addresses)


@dataclass
class ParsedMail:
    """What the inbound service needs from a message, decoded and bounded."""

    message_id: str | None = None
    from_addr: str | None = None
    from_name: str = ""
    from_count: int = 0  # addresses in From (DMARC needs exactly one)
    subject: str = ""
    recipients: list = field(default_factory=list)  # addresses in To, Cc, Delivered-To, ...
    cc: list = field(default_factory=list)  # (name, address) pairs
    cc_cut: bool = False  # the Cc header was longer than MAX_ADDRESS_HEADER: only its start was read
    references: list = field(default_factory=list)  # In-Reply-To first, then References, newest first
    automatic: str | None = None  # why this looks machine-sent, if it does
    head_cut: bool = False  # parse_head: the header is longer than HEAD_BYTES and was not read whole
    auth_results: list = field(default_factory=list)  # Authentication-Results values, top first
    text: str = ""
    attachments: list = field(default_factory=list)  # (filename, bytes)
    raw: bytes = field(default=b"", repr=False)  # the message as received


# NUL and the other C0 controls but tab and newlines: PostgreSQL refuses NUL in text, and none
# means anything in a subject or a body (web forms drop them too: helpdesk.web.CleanInput).
_UNSTORABLE = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")


def _text(value):
    """Header text as real characters: raw 8-bit bytes in a header (no encoded words, as some
    mailers send UTF-8) reach us as surrogate escapes, which no database can store."""
    value = str(value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        try:
            value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:  # a surrogate that is no escaped byte
            value = value.encode("utf-8", "replace").decode("utf-8")
    return value.translate(_UNSTORABLE)


def _header(msg, name):
    """A header as decoded text; a header too broken to parse is decoded from its raw form."""
    try:
        value = msg.get(name)
        return "" if value is None else _text(value)
    except Exception:  # the stdlib header parser can raise on hostile input
        for key, raw in msg.raw_items():
            if key.lower() == name.lower():
                try:
                    return _text(make_header(decode_header(raw)))
                except Exception:
                    return _text(raw)
        return ""


def _address_values(msg, name):
    """The raw values of an address header (the first ten), each cut at MAX_ADDRESS_HEADER
    characters at an address boundary: reading addresses costs time, and nobody writes to a
    thousand people."""
    values = []
    for key, raw in msg.raw_items():
        if key.lower() == name.lower():
            raw = str(raw)
            values.append(
                raw if len(raw) <= MAX_ADDRESS_HEADER else raw[:MAX_ADDRESS_HEADER].rpartition(",")[0]
            )
    return values


def _addresses(msg, name):
    """(display name, lower-case address) pairs of a header, skipping anything without an @."""
    found = []
    for raw in _address_values(msg, name):
        try:
            value = msg.policy.header_fetch_parse(name, raw)
            pairs = [(a.display_name, a.addr_spec) for a in value.addresses]
        except Exception:  # the stdlib parser can raise on hostile input
            pairs = getaddresses([raw])
        found += [(_text(n or ""), _text(a).strip().lower()) for n, a in pairs if "@" in (a or "")]
    return found


def _header_values(msg, name):
    """Every value of a header as text (raw where the parser chokes), at most 50 of them."""
    values = []
    for key, raw in msg.raw_items():
        if key.lower() != name.lower():
            continue
        try:
            values.append(_text(make_header(decode_header(str(raw)))))
        except Exception:  # hostile encoded words
            values.append(_text(raw))
        if len(values) >= 50:
            break
    return values


BOUNCE_SENDERS = ("mailer-daemon", "postmaster")


def _automatic(msg, from_addr):
    """Why this message was sent by a machine, or None: a bounce, list mail or an auto-reply.
    Such mail is logged and never answered, so two machines cannot answer each other for ever."""
    if "".join(_header(msg, "Return-Path").split()) == "<>":
        return "bounce (null return path, Return-Path: <>)"
    if (from_addr or "").partition("@")[0] in BOUNCE_SENDERS:
        return f"bounce (sent by {from_addr.partition('@')[0].upper()})"
    if msg.get_content_type() == "multipart/report":
        return "bounce or receipt (Content-Type: multipart/report)"
    for name in ("List-Id", "List-Unsubscribe"):
        if _header(msg, name).strip():
            return f"mailing list ({name})"
    precedence = _header(msg, "Precedence").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return f"list or bulk mail (Precedence: {precedence})"
    auto = _header(msg, "Auto-Submitted").split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"auto-reply (Auto-Submitted: {auto[:40]})"
    for name in ("X-Autoreply", "X-Autorespond"):
        if _header(msg, name).strip():
            return f"auto-reply ({name})"
    return None


def _decoded(part):
    """A text part as str: its declared charset, else UTF-8, never an exception."""
    try:
        return part.get_content()
    except (LookupError, UnicodeDecodeError, AssertionError, ValueError):
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")


class _TextFromHtml(HTMLParser):
    """HTML to plain text: block elements become lines, quotes get '> ', scripts and styles vanish.
    A table row is a line with its cells apart ("cell A cell B"); a cell's paragraph (as Word and
    Outlook wrap every cell's text in <p>) stays on its row, a cell's second paragraph starts a line."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table", "hr"}
    HIDDEN = {"script", "style", "head", "title", "template"}
    CELLS = {"td", "th"}
    IN_CELL = {"p", "div"}  # blocks that stay on their row when they are the cell's first or last

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines, self.current, self.hidden, self.quote = [], [], 0, 0
        self.cells = 0  # how deep in table cells
        self.cell_fresh = False  # nothing written in the current cell yet
        self.pending = False  # a block inside a cell ended: a line break, if more text follows

    def _newline(self, blank=False):
        text = " ".join("".join(self.current).split())
        if text:
            self.lines.append(("> " * self.quote) + text)
        elif blank and self.lines and self.lines[-1]:
            self.lines.append("")  # <br> on an empty line: the writer's paragraph break
        self.current = []

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag == "blockquote":
            self._newline()
            self.quote += 1
        elif tag in self.IN_CELL and self.cells and self.cell_fresh:
            pass  # the cell's first paragraph: on the row's line
        elif tag in self.BLOCKS:
            self.pending = False
            self._newline(blank=tag == "br")
            if tag == "li":
                self.current.append("- ")
            if tag == "div" and _quoted_mail_starts(dict(attrs)):
                self.lines.append(OUTLOOK_SEPARATOR)
        elif tag in self.CELLS:
            self.pending = False
            self.current.append(" ")  # cells of a row stay apart: "cell A cell B"
            self.cells += 1
            self.cell_fresh = True

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden = max(self.hidden - 1, 0)
        elif tag == "blockquote":
            self._newline()
            self.quote = max(self.quote - 1, 0)
        elif tag in self.IN_CELL and self.cells:
            self.pending = True  # a break only if the cell goes on
        elif tag in self.BLOCKS:
            self.pending = False
            self._newline()
        elif tag in self.CELLS:
            self.pending = False
            self.cells = max(self.cells - 1, 0)

    def handle_data(self, data):
        if self.hidden:
            return
        if data.strip():
            if self.pending:
                self._newline()
                self.pending = False
            self.cell_fresh = False
        self.current.append(data)

    def text(self):
        self._newline()
        return re.sub(r"\n{3,}", "\n\n", "\n".join(self.lines)).strip()


def _quoted_mail_starts(attrs):
    """Whether a <div> is where Outlook puts the mail being answered: id divRplyFwdMsg (Outlook on
    the web, new Outlook, mobile), or the block Outlook for Windows draws a line above
    ("border:none;border-top:solid #E1E1E1 1.0pt")."""
    if (attrs.get("id") or "").startswith("divRplyFwdMsg"):
        return True
    style = "".join((attrs.get("style") or "").lower().split())
    return style.startswith("border:none;border-top:solid")


def html_to_text(html):
    """Plain text from untrusted HTML (the result is text: it is escaped wherever it is shown)."""
    parser = _TextFromHtml()
    parser.feed(html or "")
    parser.close()
    return parser.text()


def trim_quoted(text):
    """The new part of a reply: cut at our reply marker, an 'On ... wrote:' line or an Outlook
    header, and drop trailing quoted lines and the signature. Falls back to the whole text."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        joined = line + " " + (lines[i + 1] if i + 1 < len(lines) else "")
        if REPLY_MARKER in line or _OUTLOOK.match(line) or _ATTRIBUTION.match(line):
            cut = i
            break
        if _outlook_header_block(lines, i):
            cut = i
            break
        if line.strip().startswith("On ") and not line.strip().endswith(":") and _ATTRIBUTION.match(joined):
            cut = i
            break
    kept = lines[:cut]
    if "-- " in kept:
        kept = kept[: kept.index("-- ")]
    while kept and (not kept[-1].strip() or kept[-1].lstrip().startswith(">")):
        kept.pop()
    result = "\n".join(kept).strip()
    return result or (text or "").strip()


def _outlook_header_block(lines, i):
    """Whether lines[i] starts the header block Outlook writes above the mail being answered."""
    if not _HEADER_FROM.match(lines[i]):
        return False
    sent = next((j for j in range(i + 1, min(i + 3, len(lines))) if _HEADER_SENT.match(lines[j])), None)
    if sent is None:
        return False
    return any(_HEADER_SUBJECT.match(line) for line in lines[sent + 1 : sent + 6])


def _leaves(part):
    if part.get_content_maintype() == "multipart":
        for sub in part.iter_parts():
            yield from _leaves(sub)
    else:
        yield part


def _attachment(part, index):
    name = part.get_filename()
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        data = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
        return (name or f"attached-{index}.eml", data)
    if not name:
        subtype = part.get_content_subtype().split("+")[0] or "bin"
        name = f"inline-{index}.{'jpg' if subtype == 'jpeg' else subtype}"
    return (name, part.get_payload(decode=True) or b"")


HEAD_BYTES = 256 * 1024  # what parse_head reads of a message


def parse_head(raw):
    """A ParsedMail read from the header alone (at most HEAD_BYTES), for a message too large to be
    parsed whole: sender, subject and Message-ID for the log, and what deciding whether to answer
    it needs (recipients, In-Reply-To/References, Authentication-Results, the machine-mail markers).
    A header that cannot be read is `automatic` (never answered); one longer than HEAD_BYTES is
    `head_cut`."""
    head = raw[:HEAD_BYTES]
    ends = [at for at in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if at != -1]
    if ends:
        head = head[: min(ends)] + b"\r\n\r\n"
    mail = ParsedMail(head_cut=not ends and len(raw) > HEAD_BYTES)
    try:
        msg = BytesParser(policy=policy.default).parsebytes(head, headersonly=True)
        _read_identity(mail, msg)
    except Exception:  # whatever the header holds, the message is still logged
        mail.automatic = "unreadable header"
        return mail
    try:
        _read_header(mail, msg)
    except Exception:
        mail.automatic = "unreadable header"
    return mail


def _read_identity(mail, msg):
    ids = _MSGID.findall(_header(msg, "Message-ID"))
    mail.message_id = ids[0] if ids else None
    senders = _addresses(msg, "From")
    mail.from_count = len(senders)
    if senders:
        mail.from_name, mail.from_addr = senders[0]
    mail.subject = " ".join(_header(msg, "Subject").split())


def _read_header(mail, msg):
    """Recipients, Cc, threading ids, machine-mail markers and Authentication-Results."""
    for name in RECIPIENT_HEADERS:
        mail.recipients += [a for _, a in _addresses(msg, name)]
    mail.cc = _addresses(msg, "Cc")
    mail.cc_cut = any(len(str(v)) > MAX_ADDRESS_HEADER for k, v in msg.raw_items() if k.lower() == "cc")
    mail.references = _MSGID.findall(_header(msg, "In-Reply-To")) + list(
        reversed(_MSGID.findall(_header(msg, "References")))
    )
    mail.automatic = _automatic(msg, mail.from_addr)
    mail.auth_results = _header_values(msg, "Authentication-Results")


def stand_in_message_id(raw):
    """The Message-ID a message without one is known by: made from its bytes, so the same message
    fetched again (an IMAP poll whose delete failed after the message was stored, a resent
    delivery of the same file) is recognised as a duplicate, as one with a Message-ID is. The
    `.invalid` domain (RFC 2606) says no mail program wrote it."""
    return f"<{hashlib.sha256(raw).hexdigest()[:48]}@no-message-id.invalid>"


def parse(raw):
    """A ParsedMail from raw RFC 5322 bytes; tolerant of bad charsets and broken headers."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    mail = ParsedMail(raw=raw)
    _read_identity(mail, msg)
    if mail.message_id is None:
        mail.message_id = stand_in_message_id(raw)
    _read_header(mail, msg)
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is not None:
        content = _decoded(body)
        content = content.translate(_UNSTORABLE)
        mail.text = html_to_text(content) if body.get_content_subtype() == "html" else content
    for part in _leaves(msg):
        if part is body:
            continue
        is_attachment = part.get_content_disposition() == "attachment" or part.get_filename()
        if part.get_content_maintype() == "text" and not is_attachment:
            continue  # the other half of multipart/alternative
        mail.attachments.append(_attachment(part, len(mail.attachments) + 1))
    return mail
