"""Every form of the app, posted empty or with text where a number goes, answers in words that
name the field ("Current password is required.", "Minutes must be a whole number."), never with
WTForms' generic phrasings, which say "This field" under a form of several fields. The forms are
those a crawl from each role's start pages finds (tests/functional/test_fuzz_forms.py)."""

import re

import pytest

from tests.functional.test_fuzz_forms import crawl
from tests.functional.test_fuzz_forms import desk as desk  # noqa: PLC0414 - the same fixture
from tests.markup_checks import markup_problems

GENERIC = (
    "This field is required",
    "Not a valid",
    "Invalid email address",
    "Field cannot be longer",
    "Field must be at least",
    "Field must be between",
    "Invalid Choice",
    "Invalid value",
    "Number must be",
)
STARTS = {
    "customer": ["/portal/", "/billing/", "/account", "/portal/tickets/new"],
    "technician": ["/agent/", "/account", "/agent/tickets/new", "/agent/replies/new", "/agent/kb/new"],
    "admin": ["/agent/", "/admin/", "/account", "/admin/webhooks/new"],
}


ERROR_LIST = re.compile(r'<ul class="errors"(?: id="([^"]+)")?')
DESCRIBED_BY = re.compile(r'aria-describedby="([^"]+)"')


def _unlinked_errors(page):
    """Error lists no field or group points at (aria-describedby): a screen reader on the field
    would not hear why it was refused."""
    described = {ref for refs in DESCRIBED_BY.findall(page) for ref in refs.split()}
    return [ident or "(no id)" for ident in ERROR_LIST.findall(page) if ident not in described]


TYPED = {"text", "textarea", "email", "password", "search", "url", "number", "tel"}  # what a user types


def _numeric(value):
    return value == "" or value.lstrip("-").isdigit()


def _typed(fields, kinds, value):
    """The form as a user can send it with `value` typed in every field they type in (hidden
    fields, choices and boxes as the page gave them); a number field takes no letters."""
    return {
        name: value if kinds.get(name) in TYPED and (kinds[name] != "number" or _numeric(value)) else sent
        for name, sent in fields.items()
    }


@pytest.mark.parametrize("role", sorted(STARTS))
def test_every_form_names_the_field_in_its_messages(app, login, desk, role):
    client = login(desk[role], as_client=app.test_client())
    pages = STARTS[role] + [f"/agent/tickets/{desk['ticket']}", f"/portal/tickets/{desk['ticket']}"]
    forms = crawl(app, client, pages, kinds=True)
    assert len(forms) > 5, forms
    generic, answered = [], 0
    for action, fields, kinds in forms:
        if not any(kinds.get(name) in TYPED for name in fields):
            continue
        for value in ("", "not a number, not an address", "-999999999"):
            for headers in ({}, {"HX-Request": "true"}):
                response = client.post(action, data=_typed(fields, kinds, value), headers=headers)
                page = response.get_data(as_text=True)
                response.close()
                answered += 1
                generic += [
                    f"{action} ({value!r}, htmx={bool(headers)}): {text}" for text in GENERIC if text in page
                ]
                generic += [
                    f"{action} ({value!r}): error list {i} not described" for i in _unlinked_errors(page)
                ]
                if page.lstrip().lower().startswith("<!doctype"):  # a whole page, refused or not
                    generic += [f"{action} ({value!r}): {problem}" for problem in markup_problems(page)]
    assert answered > 20
    assert generic == [], "\n".join(generic)


CHOSEN = {"select", "radio"}


@pytest.mark.parametrize("role", sorted(STARTS))
def test_a_choice_that_is_no_longer_offered_is_named_too(app, login, desk, role):
    """A select or radio group sent with a value its page no longer offers (a category deleted or
    a permission withdrawn since the page was drawn, or a hand-made request): one at a time, the
    rest of the form as the page gave it. The answer names the field ("Category: choose one of the
    listed options."), never "Not a valid choice" or "Invalid Choice: could not coerce"."""
    client = login(desk[role], as_client=app.test_client())
    pages = STARTS[role] + [f"/agent/tickets/{desk['ticket']}", f"/portal/tickets/{desk['ticket']}"]
    generic, answered = [], 0
    for action, fields, kinds in crawl(app, client, pages, kinds=True):
        for name in [n for n in fields if kinds.get(n) in CHOSEN]:
            for value in ("2147483647", "not-offered"):
                response = client.post(action, data={**fields, name: value}, headers={"HX-Request": "true"})
                page = response.get_data(as_text=True)
                response.close()
                answered += 1
                generic += [f"{action} ({name}={value!r}): {text}" for text in GENERIC if text in page]
                generic += [
                    f"{action} ({name}={value!r}): error list {i} not described"
                    for i in _unlinked_errors(page)
                ]
    assert answered >= 10
    assert generic == [], "\n".join(generic)
