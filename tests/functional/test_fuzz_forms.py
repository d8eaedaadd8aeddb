"""Random values to every form of every route, as every role (Hypothesis): nothing answers 500,
and a request answered 404 wrote nothing.

The field names come from the app's own forms: those each view's source names, with the
prefixes it passes, so the fuzzing reaches the validation and service code behind each form, not
only the "field missing" path. Values mix what users type by mistake (empty, huge and negative
numbers, text where a number goes, non-ASCII, very long strings) with ids of real objects, so
some requests pass validation and reach the services. Under TESTING an unhandled exception is
raised into the test instead of becoming a 500 page: the failure shows its traceback.
"""

import inspect
import os
import re

import pytest
from flask_sqlalchemy.session import Session as FlaskSession
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from werkzeug.routing import AnyConverter, IntegerConverter
from wtforms.fields.core import UnboundField

from helpdesk import create_app
from helpdesk.extensions import db
from tests.credit_helpers import bank

ROLES = ("anonymous", "customer", "manager", "technician", "admin")
SKIPPED_ENDPOINTS = {"static", "accounts.logout"}  # logging out only ends the session
# Examples per route (every route, random values) and per form (real forms, broken fields): kept
# small for the suite's time; FUZZ_EXAMPLES=30 for a bug hunt (docs/decisions.md).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2"))
FORM_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))


def _form_classes(cls=FlaskForm):
    for sub in cls.__subclasses__():
        yield sub
        yield from _form_classes(sub)


def _fields_of(form):
    return sorted(attr for attr in dir(form) if isinstance(getattr(form, attr, None), UnboundField))


def _forms_by_name():
    return {form.__name__: form for form in _form_classes()}


def _view_fields(app, endpoint, any_values):
    """The field names the route's view reads: the fields of every form class its source names
    (a dict of forms by name, like EDIT_FORMS, counts as all of them), with the prefixes it
    passes (`prefix="reply"`, or `prefix=field` for the <any(...):field> part of its path)."""
    view = app.view_functions[endpoint]
    view = inspect.unwrap(view)
    source = inspect.getsource(view)
    module = inspect.getmodule(view)
    forms = _forms_by_name()
    found = set()
    for name in re.findall(r"\b([A-Z][A-Za-z]+Form|[A-Z_]+FORMS)\b", source):
        target = getattr(module, name, None)
        if isinstance(target, dict):
            found.update(v for v in target.values() if isinstance(v, type))
        elif name in forms:
            found.add(forms[name])
    if not found:  # the view hands the request to a helper: the forms of its module
        module_source = inspect.getsource(module)
        for name in re.findall(r"\b([A-Z][A-Za-z]+Form)\(", module_source):
            if name in forms:
                found.add(forms[name])
        source = module_source
    prefixes = set(re.findall(r'prefix="([a-z_]+)"', source))
    if re.search(r"prefix=[a-z_]+\b", source):
        prefixes.update(any_values)
    names = set()
    for form in found:
        for field in _fields_of(form):
            names.add(field)
            names.update(f"{prefix}-{field}" for prefix in prefixes)
    return sorted(names)


def _routes():
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, sorted(r.methods))):
        if rule.endpoint in SKIPPED_ENDPOINTS:
            continue
        any_values = set()
        for converter in rule._converters.values():
            if isinstance(converter, AnyConverter):
                any_values.update(converter.items)
        fields = tuple(_view_fields(app, rule.endpoint, any_values))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield pytest.param(rule.rule, method, fields, id=f"{method} {rule.rule}")


ROUTES = list(_routes())

# Mostly plausible values (so that whole forms pass validation and reach the services), with
# what breaks things mixed in: numbers beyond every column, text where numbers go, long text.
plausible = st.one_of(
    st.integers(min_value=0, max_value=5).map(str),
    st.sampled_from(
        ["{ticket}", "{user}", "y", "on", "reply", "note", "2026-12-31", "09:00", "Europe/Paris"]
    ),
    st.text(alphabet="abcdef XYZ-é", min_size=1, max_size=12),
    st.emails(),
)
hostile = st.one_of(
    st.sampled_from([str(2**31), str(2**63), str(-(2**31) - 1), "1" * 20, "-1", "0"]),
    st.sampled_from(
        ["", "x" * 5000, "<script>alert(1)</script>", "' OR 1=1 --", "2026-02-30", "1e999", "NaN"]
    ),
    st.text(max_size=20),
)
values = st.one_of(plausible, plausible, plausible, hostile)


@pytest.fixture
def desk(make, ref):
    customer = make.customer()
    bank("Business", 1000, user=customer)
    org = make.OrganizationFactory()
    manager = make.customer(organization=org, is_org_manager=True)
    bank("Pay as you go", 500, organization=org)
    technician = make.technician(ref.categories["IT"])
    admin = make.admin()
    ticket = make.ticket(requester=customer, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    make.message(ticket, technician, "First answer.")
    db.session.commit()
    return {
        "customer": customer,
        "manager": manager,
        "technician": technician,
        "admin": admin,
        "ticket": ticket.id,
        "user": customer.id,
        "plan": 1,
    }


def _fill_path(app, rule_text, draw, ids):
    rule = next(r for r in app.url_map.iter_rules() if r.rule == rule_text)
    path = rule_text
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            value = str(draw(st.sampled_from([ids["ticket"], ids["user"], 1, 2, 0, 2**31 - 1])))
        elif isinstance(converter, AnyConverter):
            value = draw(st.sampled_from(sorted(converter.items)))
        else:
            value = draw(
                st.text(alphabet=st.characters(codec="ascii", exclude_characters="/?#%"), min_size=1)
            )
        path = re.sub(
            r"<(?:[^<>:]+:)?" + re.escape(name) + r"(?:\([^)]*\))?>", lambda _m, v=value: v, path, count=1
        )
    return path


@pytest.mark.parametrize("rule_text, method, fields", ROUTES)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_form_values_never_answer_500(app, login, desk, rule_text, method, fields, data):
    role = data.draw(st.sampled_from(ROLES), label="role")
    client = app.test_client()
    if role != "anonymous":
        login(desk[role], as_client=client)
    path = _fill_path(app, rule_text, data.draw, desk)
    form = {}
    for name in fields:
        raw = data.draw(values, label=name)
        form[name] = {"{ticket}": str(desk["ticket"]), "{user}": str(desk["user"])}.get(raw, raw)
    headers = {"HX-Request": "true"} if data.draw(st.booleans(), label="htmx") else {}
    writes = []

    def wrote(*_args):
        writes.append(True)

    event.listen(FlaskSession, "after_flush", wrote)
    try:
        if method == "GET":
            response = client.get(path, query_string=form, headers=headers)
        else:
            response = client.open(path, method=method, data=form, headers=headers)
    finally:
        event.remove(FlaskSession, "after_flush", wrote)
    status = response.status_code
    response.close()
    assert status < 500, (role, method, path, form, status)
    if status == 404:
        assert not writes, ("a 404 wrote", role, method, path, form)


# ---------------------------------------------------------------------------------------------
# The forms as the pages show them: crawl the site as each role, collect every form with the
# values the page filled in (real ids, the ticket's version, the chosen options), then let
# Hypothesis break one to three fields of each at a time. A valid baseline is what makes the
# broken field reach the code behind it.

import html.parser  # noqa: E402
from urllib.parse import urljoin, urlsplit  # noqa: E402

CRAWL_LIMIT = 80
NOT_FOLLOWED = ("/logout", "/static/", "/attachments/", "/billing/demo-")
HOSTILE = (
    str(2**31),
    str(2**63),
    "1" * 20,
    "-1",
    "",
    "x" * 3000,
    "\x00",
    "é" * 40,
    "1e999",
    "2026-02-30",
    "NaN",
)


class _PageParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.forms = [], []
        self._form = self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = {
                "method": (a.get("method") or "get").upper(),
                "action": a.get("action"),
                "fields": {},
                "kinds": {},  # a field's input type ("text", "hidden", "select", "textarea"...)
            }
            self.forms.append(self._form)
        elif self._form is None or not a.get("name"):
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a and a["name"] in self._form["fields"]:
                return
            if kind == "file":
                return
            self._form["fields"][a["name"]] = a.get("value") or ("y" if kind == "checkbox" else "")
            self._form["kinds"][a["name"]] = kind
        elif tag == "select":
            self._select = a["name"]
            self._form["fields"].setdefault(a["name"], "")
            self._form["kinds"][a["name"]] = "select"
        elif tag == "textarea":
            self._textarea = a["name"]
            self._form["fields"][a["name"]] = ""
            self._form["kinds"][a["name"]] = "textarea"
        elif tag == "button" and a.get("value") is not None:
            self._form["fields"].setdefault(a["name"], a["value"])

    def handle_starttag_option(self, a):
        fields = self._form["fields"]
        if self._select and (not fields.get(self._select) or "selected" in a):
            fields[self._select] = a.get("value", "")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._form["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _option_hook(parser):
    original = parser.handle_starttag

    def handle(tag, attrs):
        if tag == "option" and parser._form is not None:
            parser.handle_starttag_option(dict(attrs))
        else:
            original(tag, attrs)

    parser.handle_starttag = handle
    return parser


def crawl(app, client, start, kinds=False):
    """Every POST form reachable by links from `start` (at most CRAWL_LIMIT pages), one per
    endpoint: [(action path, fields with the page's values)], with each field's input type
    ({name: "text"...}) as a third item if `kinds`."""
    adapter = app.url_map.bind("localhost")
    seen, queue, forms = set(), list(start), {}
    while queue and len(seen) < CRAWL_LIMIT:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code != 200 or "text/html" not in response.content_type:
            response.close()
            continue
        parser = _option_hook(_PageParser())
        parser.feed(response.get_data(as_text=True))
        response.close()
        for href in parser.links:
            target = urljoin(path, href)
            parts = urlsplit(target)
            if (
                parts.netloc
                or any(parts.path.startswith(p) for p in NOT_FOLLOWED)
                or parts.path.endswith(".csv")
            ):
                continue
            queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        for form in parser.forms:
            if form["method"] != "POST":
                continue
            action = urlsplit(urljoin(path, form["action"] or path)).path
            try:
                endpoint, _args = adapter.match(action, method="POST")
            except Exception:  # noqa: BLE001 - a form to elsewhere (none today) is not ours to fuzz
                continue
            if endpoint not in SKIPPED_ENDPOINTS:  # one form per action, whatever its ids
                found = (action, form["fields"], form["kinds"]) if kinds else (action, form["fields"])
                forms.setdefault(re.sub(r"/[0-9]+", "/N", action), found)
    return sorted(forms.values(), key=lambda found: found[0])


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_breaking_fields_of_real_forms_never_answers_500(app, login, desk, role):
    client = login(desk[role], as_client=app.test_client())
    start = {"customer": ["/portal/", "/billing/", "/account"], "manager": ["/portal/", "/billing/"]}
    forms = crawl(
        app,
        client,
        start.get(role, ["/agent/", "/admin/", "/account"])
        + [f"/agent/tickets/{desk['ticket']}", f"/portal/tickets/{desk['ticket']}"],
    )
    assert forms, "the crawl found no forms"

    for action, baseline in forms:
        if baseline:
            _fuzz_form(client, role, action, baseline)


def _fuzz_form(client, role, action, baseline):
    @settings(
        max_examples=FORM_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(
        broken=st.dictionaries(
            st.sampled_from(sorted(baseline)),
            st.one_of(st.sampled_from(HOSTILE), st.text(max_size=10)),
            min_size=1,
            max_size=3,
        ),
        htmx=st.booleans(),
    )
    def post_broken(broken, htmx):
        form = {**baseline, **broken}
        writes = []

        def wrote(*_args):
            writes.append(True)

        event.listen(FlaskSession, "after_flush", wrote)
        try:
            response = client.post(action, data=form, headers={"HX-Request": "true"} if htmx else {})
        finally:
            event.remove(FlaskSession, "after_flush", wrote)
        status = response.status_code
        response.close()
        assert status < 500, (role, action, form, status)
        if status == 404:
            assert not writes, ("a 404 wrote", role, action, form)

    post_broken()
