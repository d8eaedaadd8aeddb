"""The @mention syntax: what counts as a mention, and how a note marks them safely."""

import pytest

from helpdesk.notices.mentions import handles, highlight, render_note


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("@ivan please look", ["ivan"]),
        ("Thanks @Ivan.", ["ivan"]),
        ("(@ivan, @sara)", ["ivan", "sara"]),
        ("@ivan@example.org: yours", ["ivan@example.org"]),
        ("@first.last-2 ok", ["first.last-2"]),
        ("mail bob@example.com or @ivan", ["ivan"]),  # an address is not a mention
        ("@ivan @IVAN @ivan", ["ivan"]),
        ("@ alone, @@double, @-dash", []),
        ("log:\n\n    user @ivan logged in\n\nthen `@sara` failed; @bob?", ["bob"]),  # code is quoted
        ("```\n@ivan\n```\n> @sara wrote: &@bob", ["sara", "bob"]),
        ("[@ivan](https://x.example/@sara) <https://x.example/@bob>", []),  # a link's text and address
    ],
)
def test_what_counts_as_a_mention(text, found):
    assert handles(text) == found


def test_a_note_marks_its_mentions_and_escapes_everything_else():
    html = str(render_note('@ivan <img src=x onerror="alert(1)"> see `@code` and <a@b.example>'))
    assert html.startswith('<p><mark class="mention">@ivan</mark> &lt;img')
    assert "<img" not in html and ">a@b.example</a>" in html
    assert "<code>@code</code>" in html  # code stays as written


def test_links_keep_their_text():
    assert str(highlight('<p><a href="https://x.example/@ivan">@ivan</a> @sara</p>')) == (
        '<p><a href="https://x.example/@ivan">@ivan</a> <mark class="mention">@sara</mark></p>'
    )
