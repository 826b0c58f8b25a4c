"""Generated bad input never gets a 500 (issue 8, item 4; SECURITY.md promise 8).

At least ``MIN_INPUTS`` requests a run, each carrying generated bad input (NUL, lone
surrogates, malformed UTF-8, CRLF, huge numbers, NaN, deep nesting, oversized text, wrong
types), go to the definition import, the questionnaire builder (its save and its live check),
the FHIR Questionnaire import, every counselor and admin form, the portal's autosave, section
and submit, and the sign-in. Every answer must be below 500. The test counts what it
sent and fails when it sent fewer than ``MIN_INPUTS``, so it cannot silently do less. It runs
on the suite's database: SQLite locally, PostgreSQL in CI.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counselor.core.web import UNSTORABLE_TEXT
from counselor.extensions import db, limiter
from counselor.questionnaires import builder, fhir
from counselor.questionnaires.engine import walk
from counselor.questionnaires.models import Questionnaire
from tests.support import (
    assign,
    make_account,
    new_case,
    open_portal,
    portal_csrf,
    revision_of,
    sign_in,
    sync,
)
from tests.sweep import build_url, is_portal, make_objects, methods_of, sweep_rules, variants

MIN_INPUTS = 1_000
#: an integer past Python's 4,300-digit conversion limit, as raw JSON (json.dumps cannot)
HUGE_ANSWER = '{"revision": 0, "answers": {"x": ' + "9" * 5_000 + "}}"

# ---- what bad input looks like ---------------------------------------------------------

SPECIALS = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\r\n",
    "\r\nSet-Cookie: x=1",
    "\u202e\u200b\ufeff",
    "😀" * 50,
    "'\"<>&;--",
    "%00",
    "../../etc/passwd",
    "9" * 5_000,
    "-1",
    "1e400",
    "NaN",
    "-Infinity",
    "0x10",
    "2026-02-30",
    "0000-01-01",
    "99:99",
    "x" * 300_000,
    "",
    " ",
]
bad_text = st.one_of(
    st.sampled_from(SPECIALS),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=40),
    st.builds(
        lambda a, b, c: a + b + c,
        st.text(max_size=10),
        st.sampled_from(SPECIALS[:8]),
        st.text(max_size=10),
    ),
)
json_scalar = st.one_of(
    bad_text,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            bad_text | st.sampled_from(["roles", "note", "hard_limit"]), inner, max_size=4
        ),
    ),
    max_leaves=12,
)


def form_body(fields: list[tuple[str, str]]) -> bytes:
    """A urlencoded body; lone surrogates go out as the malformed UTF-8 a client could send."""
    return "&".join(
        f"{quote(k.encode('utf-8', 'surrogatepass'))}={quote(v.encode('utf-8', 'surrogatepass'))}"
        for k, v in fields
    ).encode()


def fields_for(names: dict[str, str]):
    """Each field keeps a plausible value or gets a bad one; sometimes an unknown field too."""
    per_field = [
        st.tuples(st.just(name), st.one_of(st.just(default), bad_text))
        for name, default in names.items()
    ]
    extra = st.lists(st.tuples(bad_text, bad_text), max_size=2)
    return st.builds(lambda fixed, more: [*fixed, *more], st.tuples(*per_field), extra)


# ---- the forms -------------------------------------------------------------------------

PARTNER_FIELDS = {
    f"partners-{n}-{f}": v
    for n in range(2)
    for f, v in (("display_name", "Fuzz"), ("pronouns", ""), ("email", ""), ("partner_id", ""))
}
SESSION_FIELDS = {
    "date": "2026-03-02",
    "time": "10:00",
    "duration_minutes": "50",
    "agenda": "a",
    "notes": "n",
    "next_steps": "s",
}
RESOURCE_FIELDS = {"title": "T", "source": "S", "url": "", "note": "", "shared": ""}
ASSIGN_FIELDS = {"due_on": "", "instructions": "", "ttl_days": "30", "request_key": ""}
#: every counselor-side and admin POST route and the fields its form sends
FORMS: dict[str, dict[str, str]] = {
    "agreements.new": {"title": "T", "partners": ""},
    # the sweep's agreement has a draft open: a clause row, the title and the review date
    "agreements.draft": {
        "title": "T",
        "review_on": "",
        "action": "save",
        "c-0-kind": "activity",
        "c-0-text": "t",
        "c-0-leads": "",
        "c-0-when": "",
        "c-0-signal_word": "",
    },
    "agreements.material": {"pick": ""},
    # a check-in schedule of the sweep's case, and the sweep's schedule's one-click changes
    "checkins.new": {
        "questionnaire": "",
        "partners": "",
        "every": "1",
        "unit": "weeks",
        "starts_on": "2030-03-02",
        "ends_on": "",
        "times": "",
    },
    "checkins.change": {"action": "pause"},
    "agreements.publish": {"version_id": ""},
    "admin.counselors": {
        "name": "N",
        "email": "n@example.org",
        "password": "p",
        "confirm": "p",
        "admin": "",
    },
    "admin.disable": {},
    "admin.enable": {},
    "admin.practice": {
        "safety_text": "Call 112.",
        "quick_exit_url": "https://example.org/",
        "partner_subject": "A message",
        "reminder_days": "2",
        "quiet_from": "21",
        "quiet_until": "8",
    },
    "auth.change_password": {"current": "x", "new": "y", "confirm": "y"},
    "auth.login": {"email": "a@example.org", "password": "x"},
    "auth.login_totp": {"code": "123456"},
    "auth.totp": {"code": "123456", "password": "x"},
    "cases.archive": {},
    "cases.unarchive": {},
    "cases.delete": {"confirm_label": ""},
    "cases.delete_session": {},
    "cases.edit": {"label": "Fuzz", **PARTNER_FIELDS},
    "cases.new": {"label": "Fuzz", **PARTNER_FIELDS},
    "cases.edit_session": SESSION_FIELDS,
    "cases.new_session": SESSION_FIELDS,
    "cases.relationships": {"pair": ""},
    "cases.issue_home_link": {},
    "cases.revoke_home_link": {},
    "mail.opt_out": {},
    "mail.notifications": {"submitted": "y", "alert": "y", "undeliverable": "", "delivery": "each"},
    "questionnaires.assign": {**ASSIGN_FIELDS, "questionnaire": "", "partners": ""},
    "questionnaires.assign_many": {**ASSIGN_FIELDS, "cases": ""},
    "questionnaires.change_due": {"due_on": ""},
    "questionnaires.import_definition": {"definition": "{}"},
    "questionnaires.create": {},
    "questionnaires.clone": {},
    "questionnaires.edit": {"definition": "{}", "base": "1", "action": "save"},
    "questionnaires.check": {},
    # without ?item= or ?n= these go back to the builder; the forms themselves are fuzzed below
    "questionnaires.item_rules": {"base": ""},
    "questionnaires.score_rule": {"base": ""},
    "questionnaires.publish": {},
    "questionnaires.share": {"shared": "1"},
    "questionnaires.import_fhir": {"text": "{}", "accept": ""},
    "questionnaires.lock": {},
    "questionnaires.unlock": {},
    "questionnaires.reissue": {},
    "questionnaires.revoke": {},
    "reports.delete": {},
    "reports.request_case_export": {"kind": "handout", "partner": ""},
    "reports.request_session_export": {"kind": "clinical", "partner": ""},
    "reports.retry": {},
    "alerts.acknowledge": {"note": "n", "next_page": ""},
    "consent.text": {"text": "T"},
    "learning.index": RESOURCE_FIELDS,
    "learning.edit": RESOURCE_FIELDS,
    "learning.delete": {},
    "learning.attach": {"resources": ""},
    # the sweep's ladder has one open step, and a partner's proposal
    "steps.case_steps": {
        "place": "case",
        "what": "w",
        "size": "",
        "conditions": "",
        "planned_on": "",
        "debrief": "",
    },
    "steps.edit": {"what": "w", "size": "", "conditions": "", "planned_on": "", "debrief": ""},
    "steps.move": {"direction": "up"},
    "steps.decide": {"decision": "accept"},
    "steps.resume": {},
    "reveal.release": {},
    "reveal.withdraw": {},
}
#: builder routes edit A's own questionnaire (a built-in one is the missing page for everyone)
ON_OWN_QUESTIONNAIRE = {
    "questionnaires.edit",
    "questionnaires.check",
    "questionnaires.item_rules",
    "questionnaires.score_rule",
    "questionnaires.publish",
    "questionnaires.share",
}
#: POST routes left out, and why
NOT_FUZZED = {"auth.logout": "ends the session the other forms are sent with; takes no fields"}
#: routes that end or change what later forms need go last
LAST = (
    "learning.delete",
    "cases.delete_session",
    "reports.delete",
    "questionnaires.revoke",
    "cases.delete",
    "admin.disable",
)


@dataclass
class Counter:
    """Requests sent with generated input, and the worst status seen."""

    sent: int = 0

    def check(self, response, what: str) -> None:
        self.sent += 1
        assert response.status_code < 500, (what, response.status_code)


def _run(strategy, examples: int, send: Callable) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(value) -> None:
        send(value)

    run()


# ---- definition texts ---------------------------------------------------------------------

SCALE = {
    "link_id": "c",
    "type": "scale",
    "text": "C",
    "min": 0,
    "max": 10,
    "min_label": "low",
    "max_label": "high",
}
VALID = {
    "slug": "fuzz",
    "title": "Fuzz",
    "purpose": "p",
    "kind": "exercise",
    "items": [
        {"link_id": "a", "type": "boolean", "text": "A"},
        {
            "link_id": "b",
            "type": "integer",
            "text": "B",
            "enable_when": [{"question": "a", "operator": "=", "answer": True}],
        },
    ],
}
DEFINITION_PATHS = [
    ("title",),
    ("slug",),
    ("items", 0, "text"),
    ("items", 0, "link_id"),
    ("items", 1, "enable_when", 0, "answer"),
    ("items", 1, "enable_when", 0, "question"),
    ("items", 1, "min"),
    ("estimated_minutes",),
    ("items", 0),
    ("items",),
]


def _mutated(path: tuple, value) -> str:
    doc = json.loads(json.dumps(VALID))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return json.dumps(doc, allow_nan=True)  # ensure_ascii: a surrogate goes out as \\ud800


definition_text = st.one_of(
    st.builds(_mutated, st.sampled_from(DEFINITION_PATHS), json_value),
    bad_text,
    st.sampled_from(
        [
            '{"slug": "x", "items": [' + "9" * 5_000 + "]}",
            "[" * 50_000,
            '{"a": ' * 5_000,
            '{"title": "\\u0000"}',
            '{"title": "\\ud800\\udbff"}',
            json.dumps({**VALID, "estimated_minutes": math.inf}, allow_nan=True),
        ]
    ),
)


VALID_FHIR = fhir.to_fhir({**VALID, "items": [*VALID["items"], SCALE]})
FHIR_PATHS = [
    ("resourceType",),
    ("url",),
    ("title",),
    ("extension", 0),
    ("extension", 0, "valueCode"),
    ("item",),
    ("item", 0),
    ("item", 0, "type"),
    ("item", 0, "linkId"),
    ("item", 1, "enableWhen", 0),
    ("item", 1, "enableWhen", 0, "question"),
    ("item", 1, "enableWhen", 0, "answerBoolean"),
    ("item", 1, "enableBehavior"),
    ("item", 2, "extension"),
    ("item", 2, "extension", 1, "valueInteger"),
    ("item", 2, "extension", 0, "valueString"),
]


def _mutated_fhir(path: tuple, value) -> str:
    doc = json.loads(json.dumps(VALID_FHIR))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return json.dumps(doc, allow_nan=True)


def _cycle() -> str:
    doc = json.loads(json.dumps(VALID_FHIR))
    doc["item"][0]["enableWhen"] = [{"question": "b", "operator": "exists", "answerBoolean": True}]
    return json.dumps(doc)


fhir_text = st.one_of(
    st.builds(_mutated_fhir, st.sampled_from(FHIR_PATHS), json_value),
    bad_text,
    st.sampled_from(
        [
            json.dumps({**VALID_FHIR, "resourceType": "Patient"}),
            _cycle(),
            json.dumps({**VALID_FHIR, "item": [{"linkId": "x", "type": "attachment"}] * 3}),
            json.dumps(
                {**VALID_FHIR, "item": [{"linkId": "x", "text": "X", "type": "string"}] * 6_000}
            ),
            "[" * 50_000,
            '{"resourceType": "Questionnaire", "item": [' + "9" * 5_000 + "]}",
            '{"resourceType": "Questionnaire", "title": "\\u0000"}',
        ]
    ),
)


# ---- the test -----------------------------------------------------------------------------


@pytest.fixture
def fuzz_app(make_app):
    """The app with rate limits off (so bad input reaches the code behind them) and the
    counselor forms' CSRF check off (so it reaches form validation)."""
    enabled = limiter.enabled
    application = make_app(RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False)
    try:
        with application.app_context():
            yield application
    finally:
        # The limiter is one object for every app, and init_app keeps its last setting as the
        # default for the next app: switch it back on for the tests after this one.
        limiter.enabled = enabled


def test_every_covered_post_route_is_fuzzed(fuzz_app):
    posts = {
        r.endpoint for r in sweep_rules(fuzz_app) if "POST" in methods_of(r) and not is_portal(r)
    }
    assert posts == set(FORMS) | set(NOT_FUZZED), "add the new form to FORMS in this file"


def test_generated_bad_input_never_gets_a_500(fuzz_app):
    app = fuzz_app
    counter = Counter()
    a = make_account("a@example.org", "Counselor A")
    b = make_account("b@example.org", "Counselor B")
    admin = make_account("admin@example.org", "Admin", admin=True)
    objects = make_objects(a, b)
    sync()

    # the portal: a draft of the check-in (conditions) and of the inventory (desire answers)
    for slug, examples in (("consent-check-in", 150), ("desires-boundaries", 100)):
        case = new_case(a)
        assignment, tokens = assign(case, slug)
        defn = assignment.version.definition
        partner = app.test_client()
        assert open_portal(partner, next(iter(tokens.values()))).status_code == 302
        page = partner.get("/p/s/1").get_data(as_text=True)
        csrf, ids = portal_csrf(page), list(defn.by_id)

        def autosave(value, partner=partner, csrf=csrf):
            revision, answers, raw = value
            body = (
                raw
                if raw is not None
                else json.dumps({"revision": revision, "answers": answers}, allow_nan=True)
            )
            r = partner.post(
                "/p/autosave",
                data=body,
                content_type="application/json",
                headers={"X-CSRF-Token": csrf},
            )
            counter.check(r, f"autosave {body[:200]!r}")

        answers = st.dictionaries(st.sampled_from(ids) | bad_text, json_value, max_size=4)
        revision = st.one_of(st.integers(-1, 3), json_value)
        raw = st.one_of(
            st.none(),
            st.none(),
            st.sampled_from(
                [
                    "[" * 50_000,
                    '{"revision": 1, "answers": {"\\ud800": 1}}',
                    "\x00",
                    '{"revision": 1e999}',
                ]
            ),
        )
        _run(st.tuples(revision, answers, raw), examples, autosave)

    section_fields = {f"a-{i['link_id']}": "" for i in walk(defn.sections[0].items)}
    section_fields |= {"revision": str(revision_of(page)), "action": "save"}

    def post_section(fields, partner=partner, csrf=csrf):
        r = partner.post(
            "/p/s/1",
            data=form_body([("csrf_token", csrf), *fields]),
            content_type="application/x-www-form-urlencoded",
        )
        counter.check(r, f"section {fields!r:.300}")

    _run(fields_for(section_fields), 100, post_section)

    def submit(fields, partner=partner, csrf=csrf):
        r = partner.post(
            "/p/submit",
            data=form_body([("csrf_token", csrf), *fields]),
            content_type="application/x-www-form-urlencoded",
        )
        counter.check(r, f"submit {fields!r:.300}")

    _run(fields_for({"revision": "1"}), 50, submit)

    # the partner's steps: suggesting a step, marking one and sharing, with generated text
    from counselor.steps import services as steps

    ladder = steps.ladder_at(case, "case")
    step = steps.add_step(ladder, "A small step")
    db.session.commit()
    for action, fields, examples in (
        ("propose", {"what": "w", "size": "", "conditions": ""}, 50),
        ("mark", {"step": str(step.id), "action": "pause"}, 25),
        ("share", {"step": str(step.id), "share": "step.what"}, 25),
    ):

        def steps_post(fields, partner=partner, csrf=csrf, action=action):
            r = partner.post(
                f"/p/steps/{ladder.id}/{action}",
                data=form_body([("csrf_token", csrf), *fields]),
                content_type="application/x-www-form-urlencoded",
            )
            counter.check(r, f"steps {action} {fields!r:.300}")

        _run(fields_for(fields), examples, steps_post)

    # the counselor's import, with definition texts made to break the parser and the rules
    counselor = app.test_client()
    sign_in(counselor, a)

    def import_definition(text):
        r = counselor.post(
            "/questionnaires/import",
            data=form_body([("definition", text)]),
            content_type="application/x-www-form-urlencoded",
        )
        counter.check(r, f"import {text[:300]!r}")

    _run(definition_text, 200, import_definition)

    # the builder's save and live check on A's own questionnaire, and the FHIR import
    own = objects["own_questionnaire_id"]

    def builder_save(text):
        r = counselor.post(
            f"/questionnaires/{own}/edit",
            data=form_body([("definition", text), ("action", "save")]),
            content_type="application/x-www-form-urlencoded",
        )
        counter.check(r, f"builder save {text[:300]!r}")

    _run(definition_text, 100, builder_save)

    def builder_check(text):
        body = text.encode("utf-8", "surrogatepass")
        r = counselor.post(
            f"/questionnaires/{own}/check", data=body, content_type="application/json"
        )
        counter.check(r, f"builder check {text[:300]!r}")
        assert r.status_code in (200, 400), r.status_code

    _run(definition_text, 100, builder_check)

    # the builder's plain forms: the last item's rules, and a new score
    doc = db.session.get(Questionnaire, own).newest.definition.doc
    last = builder.items_with_paths(doc)[-1][1]["link_id"]
    earlier = [q["link_id"] for q in builder.earlier_questions(doc, last)] or [""]
    scorable = [q["link_id"] for q in builder.scorable(doc)] or [""]
    plain_forms = (
        (
            f"/questionnaires/{own}/rules?item={quote(last)}",
            {
                "base": "",
                "conditions-0-question": earlier[0],
                "conditions-0-operator": "=",
                "conditions-0-answer": "yes",
                "conditions-1-question": earlier[-1],
                "conditions-1-operator": "exists",
                "behavior": "any",
                "stop": "y",
                "stop_operator": "<=",
                "stop_answer": "1",
                "stop_message": "m",
                "alert": "y",
                "alert_operator": ">=",
                "alert_answer": "2",
                "alert_severity": "urgent",
                "alert_message": "m",
            },
        ),
        (
            f"/questionnaires/{own}/score?n=new",
            {
                "base": "",
                "action": "save",
                "title": "T",
                "method": "mean",
                "items": scorable[0],
                "reverse": scorable[0],
                "max_missing": "0",
                "hidden_as": "1.5",
                "cutoffs-0-at_least": "1",
                "cutoffs-0-text": "t",
                "source": "s",
                "share": "shared",
            },
        ),
    )
    for url, fields in plain_forms:

        def plain_form(value, url=url):
            r = counselor.post(
                url, data=form_body(value), content_type="application/x-www-form-urlencoded"
            )
            counter.check(r, f"{url} {value!r:.300}")

        _run(fields_for(fields), 40, plain_form)

    def import_fhir(value):
        text, accept = value
        fields = [("text", text)] + ([("accept", "y")] if accept else [])
        r = counselor.post(
            "/questionnaires/import-fhir",
            data=form_body(fields),
            content_type="application/x-www-form-urlencoded",
        )
        counter.check(r, f"import FHIR {text[:300]!r}")

    _run(st.tuples(fhir_text, st.booleans()), 200, import_fhir)

    # every form, in an order that keeps destructive ones last
    clients = {"admin": app.test_client(), "anonymous": app.test_client(), "counselor": counselor}
    sign_in(clients["admin"], admin)
    rules = {r.endpoint: r for r in sweep_rules(app) if r.endpoint in FORMS}
    for endpoint in sorted(FORMS, key=lambda e: (e in LAST, LAST.index(e) if e in LAST else 0, e)):
        rule = rules[endpoint]
        values = variants(rule, objects)["imported" if endpoint in ON_OWN_QUESTIONNAIRE else "own"]
        if endpoint in ("admin.disable", "admin.enable"):
            values = {"counselor_id": b.id}
        url = build_url(rule, values)
        who = (
            "admin"
            if endpoint.startswith("admin.") or endpoint == "consent.text"
            else "anonymous"
            if endpoint.startswith("auth.login")
            else "counselor"
        )

        def send(fields, url=url, who=who, endpoint=endpoint):
            r = clients[who].post(
                url, data=form_body(fields), content_type="application/x-www-form-urlencoded"
            )
            counter.check(r, f"{endpoint} {fields!r:.300}")

        _run(fields_for(FORMS[endpoint]), 100 if endpoint == "auth.login" else 14, send)

    assert counter.sent >= MIN_INPUTS, f"only {counter.sent} bad inputs were sent"


def test_nul_in_the_sign_in_email_is_a_400_page(fuzz_app):
    make_account("a@example.org", "Counselor A")
    r = fuzz_app.test_client().post("/login", data={"email": "a@example.org\x00", "password": "x"})
    assert r.status_code == 400
    assert "invisible character" in r.get_data(as_text=True)
    assert "<html" in r.get_data(as_text=True).lower()


def test_lone_surrogate_in_an_autosave_is_a_json_400(fuzz_app):
    a = make_account("a@example.org", "Counselor A")
    sync()
    assignment, tokens = assign(new_case(a), "consent-check-in")
    partner = fuzz_app.test_client()
    assert open_portal(partner, next(iter(tokens.values()))).status_code == 302
    page = partner.get("/p/s/1").get_data(as_text=True)
    r = partner.post(
        "/p/autosave",
        data='{"revision": 0, "answers": {"x": "\\ud800"}}',
        content_type="application/json",
        headers={"X-CSRF-Token": portal_csrf(page)},
    )
    assert r.status_code == 400
    assert r.get_json() == {"error": UNSTORABLE_TEXT}


def test_nul_in_a_query_string_is_a_400(fuzz_app):
    a = make_account("a@example.org", "Counselor A")
    c = fuzz_app.test_client()
    sign_in(c, a)
    r = c.get("/cases?q=%00")
    assert r.status_code == 400
    assert "invisible character" in r.get_data(as_text=True)


@pytest.mark.parametrize(
    "where",
    ["header", "cookie", "form field name", "multipart field"],
)
def test_nul_anywhere_a_route_may_read_is_a_400(fuzz_app, where):
    """The boundary check reads every source: headers and cookies as well as the body."""
    c = fuzz_app.test_client()
    if where == "header":
        r = c.get("/login", headers={"X-Note": "a\x00b"})
    elif where == "cookie":
        c.set_cookie("note", "a\x00b", domain="counselor.test")
        r = c.get("/login")
    elif where == "form field name":
        r = c.post("/login", data={"email\x00": "a@example.org", "password": "x"})
    else:
        r = c.post(
            "/login",
            data={"email": "a@example.org", "password": "x\x00"},
            content_type="multipart/form-data",
        )
    assert r.status_code == 400
    assert "invisible character" in r.get_data(as_text=True)
