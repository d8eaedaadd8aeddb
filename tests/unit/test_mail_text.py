"""Reading mail text: quoted history trimmed, HTML turned to text, tokens and headers checked."""

import pytest

from helpdesk.mail.compose import clean_header
from helpdesk.mail.parse import HEAD_BYTES, html_to_text, parse_head, trim_quoted
from helpdesk.mail.tokens import thread_root_id, ticket_from_root_id


@pytest.mark.parametrize(
    "text",
    [
        "Fixed, thanks.\n\nOn Mon, 23 Nov 2026 at 10:00, Help desk <s@x.test> wrote:\n> old text",
        "Fixed, thanks.\n\nOn Mon, 23 Nov 2026 at 10:00, Help desk\n<s@x.test> wrote:\n> old text",
        "Fixed, thanks.\n\n-----Original Message-----\nFrom: Help desk\nold text",
        "Fixed, thanks.\n\n________________________________\nFrom: Help desk\nold text",
        "Fixed, thanks.\n\nAm 23.11.2026 um 10:00 schrieb Help desk <s@x.test>:\n> alter Text",
        "Fixed, thanks.\n-- \nAlice, Example Corp",
        "Fixed, thanks.\n\n-- Reply above this line --\nold text",
        "Fixed, thanks.\n> old text\n>\n",
        "Fixed, thanks.\n\nFrom: Help desk <s@x.test>\nSent: Monday, 23 November 2026 10:02\n"
        "To: Alice Archer <a@x.test>\nSubject: Re: [#9] Printer\n\nold text",
        "Fixed, thanks.\n\n*From:* Help desk <s@x.test>\n*Sent:* Monday\n*To:* Alice\n*Cc:* Bob\n"
        "*Subject:* Re: [#9] Printer\nold text",
        "Fixed, thanks.\n\nVon: Help desk <s@x.test>\nGesendet: Montag, 23. November 2026 10:02\n"
        "An: Alice Archer\nBetreff: AW: [#9] Drucker\nalter Text",
        "Fixed, thanks.\n\nDe : Help desk <s@x.test>\nEnvoyé : lundi 23 novembre 2026 10:02\n"
        "À : Alice Archer\nObjet : RE: [#9] Imprimante\nancien texte",
    ],
)
def test_quoted_history_and_signatures_are_trimmed(text):
    assert trim_quoted(text) == "Fixed, thanks."


def test_interleaved_answers_are_kept():
    text = "> Which version?\n5.3\n> Which OS?\nLinux"
    assert trim_quoted(text) == "> Which version?\n5.3\n> Which OS?\nLinux"


def test_only_quoted_text_falls_back_to_everything():
    assert trim_quoted("> just a quote") == "> just a quote"


def test_a_from_line_of_ones_own_is_no_quoted_header():
    text = "The mail came From: accounting, Sent: yesterday.\nFrom: my manager\nSubject: the printer"
    assert trim_quoted(text) == text


def test_outlook_for_windows_html_quote_is_cut_at_its_bordered_block():
    html = (
        "<div class=WordSection1><p class=MsoNormal>Works now.<o:p></o:p></p><div><div "
        "style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'><p class=MsoNormal>"
        "<b>From:</b> Help desk &lt;s@x.test&gt; <br><b>Sent:</b> Monday<br><b>To:</b> Alice<br>"
        "<b>Subject:</b> Re: [#9] Printer</p></div></div><p class=MsoNormal>Old text</p></div>"
    )
    assert trim_quoted(html_to_text(html)) == "Works now."


def test_html_table_cells_stay_apart_and_paragraphs_of_a_cell_stay_lines():
    html = (
        "<table><tr><td>cell A</td><td>cell B</td></tr><tr><td><p>HP 4000</p></td><td><p>2</p></td></tr>"
        "<tr><td><p>one</p><p>two</p></td></tr></table><p>after</p>"
    )
    assert html_to_text(html) == "cell A cell B\nHP 4000 2\none\ntwo\nafter"


def test_html_to_text_keeps_lines_drops_markup_and_scripts():
    html = "<div>One <b>two</b></div><div>three</div><script>evil()</script><ul><li>a</li><li>b</li></ul>"
    assert html_to_text(html) == "One two\nthree\n- a\n- b"


def test_html_blockquote_becomes_quoted_lines():
    assert html_to_text("<p>New</p><blockquote><p>Old</p></blockquote>") == "New\n> Old"


def test_clean_header_removes_line_breaks_and_controls():
    assert clean_header("Hi\r\nBcc: x@y.test\x00\u2028end") == "Hi Bcc: x@y.test end"


def test_thread_root_ids_are_signed(app):
    root = thread_root_id(7)
    assert ticket_from_root_id(root) == 7
    assert ticket_from_root_id(root.replace("ticket-7.", "ticket-8.")) is None


HEAD = (
    b"Authentication-Results: mx.test; dmarc=pass header.from=customer.test\r\n"
    b"From: Nora <nora@customer.test>\r\nTo: support@helpdesk.example\r\nSubject: Big\r\n"
    b"In-Reply-To: <a@x.test>\r\nReferences: <r@x.test> <a@x.test>\r\n"
)


def test_parse_head_reads_what_answering_a_message_needs_from_the_header_alone():
    head = parse_head(HEAD + b"\r\n" + b"x" * 1000)
    assert head.from_addr == "nora@customer.test" and head.subject == "Big" and head.from_count == 1
    assert head.recipients == ["support@helpdesk.example"]
    assert head.references == ["<a@x.test>", "<a@x.test>", "<r@x.test>"]
    assert head.auth_results == ["mx.test; dmarc=pass header.from=customer.test"]
    assert head.automatic is None and not head.head_cut and head.text == ""


@pytest.mark.parametrize(
    ("line", "automatic"),
    [
        (b"Auto-Submitted: auto-replied", "auto-reply (Auto-Submitted: auto-replied)"),
        (b"Precedence: junk", "list or bulk mail (Precedence: junk)"),
        (b"List-Unsubscribe: <mailto:x@list.test>", "mailing list (List-Unsubscribe)"),
        (b"Return-Path: <>", "bounce (null return path, Return-Path: <>)"),
    ],
)
def test_parse_head_sees_machine_mail_in_the_header(line, automatic):
    assert parse_head(line + b"\r\n" + HEAD + b"\r\nbody").automatic == automatic


def test_parse_head_marks_a_header_longer_than_it_reads():
    assert parse_head(HEAD + b"X-Long: " + b"y" * HEAD_BYTES + b"\r\n\r\nbody").head_cut
