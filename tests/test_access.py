"""The route sweep: every rule of the app, for every actor, against counselor A's objects.

Promise 1 of SECURITY.md: a counselor never reaches another counselor's cases, in any way,
and gets the same 404 as for something that does not exist. Anonymous visitors are sent to
the login page; a practice admin sees no clinical page; counselors see no admin page.
Promise 2: a partner (a browser holding the portal session of one of A's partners' links)
gets the login page for every counselor route and, on the portal, only its own link's pages:
no other response's answer (each planted as a canary) shows on any page, and no URL turns
its session into another link's. A counselor's login opens no portal page.

Adding a route:
1. add a row to ``POLICY`` in ``tests/access_policy.py`` (a route missing from it fails
   ``test_every_route_is_classified`` with the line to add);
2. if its URL takes an argument the sweep does not know, teach ``tests/sweep.py``
   (``OWN_VALUES``: which of A's objects to put there; ``MISSING_VALUES`` for non-UUIDs).
The sweep here, the CSRF test in ``test_auth.py`` and the page checks in ``test_errors.py``
then cover the route by themselves.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote, urljoin, urlsplit

import pytest
from sqlalchemy import func, select

from counselor.core.audit import AuditEvent
from counselor.extensions import db
from counselor.portal import session as portal_session
from tests.access_policy import POLICY, REFUSALS
from tests.support import make_account, open_portal, sign_in
from tests.sweep import (
    ACTORS,
    UnknownArgument,
    body_text,
    build_url,
    canaries_in,
    is_portal,
    make_objects,
    make_partner_home,
    matches,
    methods_of,
    outcome,
    snapshot,
    stable_body,
    sweep_rules,
    variant_names,
    variants,
)


def test_every_route_is_classified(app):
    """A route without a policy row fails here, naming the row to add."""
    problems = []
    for rule in sweep_rules(app):
        row = POLICY.get(rule.endpoint)
        if row is None:
            helper = "owned" if rule.arguments else "caseload"
            wants = ", ".join(f"{m}=200" for m in methods_of(rule))
            problems.append(
                f"{rule.endpoint} ({rule.rule}, {'/'.join(methods_of(rule))}) is not in POLICY: "
                "classify it in tests/access_policy.py with owned, caseload, library, admin_page, "
                f"admin_object, signed_in, portal, everyone or explicit, e.g. "
                f'"{rule.endpoint}": {helper}({wants}),'
            )
            continue
        for variant in variant_names(rule):
            table = row.table(variant)
            if table is None:
                problems.append(
                    f"{rule.endpoint}: the row needs `{variant}` (what the {variant} variant "
                    f"gives): the URL carries {sorted(rule.arguments)}."
                )
            elif set(table) != set(methods_of(rule)):
                problems.append(
                    f"{rule.endpoint}: POLICY ({variant}) covers {sorted(table)} but the route "
                    f"answers {methods_of(rule)}; make the row match."
                )
            elif any(len(wants) != len(ACTORS) for wants in table.values()):
                problems.append(f"{rule.endpoint}: every tuple needs one entry per {ACTORS}.")
    known = {r.endpoint for r in sweep_rules(app)}
    problems += [
        f"POLICY row {e!r} names no route any more; remove it." for e in POLICY if e not in known
    ]
    assert not problems, "\n".join(problems)


@pytest.fixture
def actors(app):
    """Counselors A and B and the admin, with a browser for each actor (only the actor
    under test is signed in, see ``tests.support.sign_in``)."""
    accounts = {
        "counselor_a": make_account("a@example.org", "Counselor A"),
        "counselor_b": make_account("b@example.org", "Counselor B"),
        "admin": make_account("admin@example.org", "Practice Admin", admin=True),
    }
    return accounts


def _signed_in(client) -> bool:
    return client.get("/account/password").status_code == 200


def _audit_count(action: str, actor) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == action, AuditEvent.actor_id == str(actor.id))
    )


def _portal_cookie(client) -> str | None:
    c = client.get_cookie(portal_session.COOKIE, domain="counselor.test", path="/p")
    return c.value if c else None


def _set_portal_cookie(client, value: str | None) -> None:
    """Give a browser exactly this portal cookie (None: none at all)."""
    if value is None:
        client.delete_cookie(portal_session.COOKIE, domain="counselor.test", path="/p")
    else:
        client.set_cookie(portal_session.COOKIE, value, domain="counselor.test", path="/p")


def _open_portal(client, token: str) -> tuple[str, str]:
    """Open a personal link in ``client``; (the portal cookie, the portal CSRF token)."""
    r = open_portal(client, token)
    assert r.status_code == 302 and urlsplit(r.location).path == "/p/", outcome(r)
    page = client.get("/p/")
    assert page.status_code == 200
    csrf = re.search(r'data-csrf="([^"]+)"', page.get_data(as_text=True)) or re.search(
        r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)
    )
    assert csrf, "no portal CSRF token on the overview"
    return _portal_cookie(client), csrf.group(1)


#: one sweep test per (actor, endpoint): ``-k "counselor_b and cases.show"`` runs one route,
#: and a failure names it
SWEEP = [
    pytest.param(actor, endpoint, id=f"{actor}-{endpoint}")
    for endpoint in POLICY
    for actor in ACTORS
]


@pytest.mark.parametrize(("actor", "endpoint"), SWEEP)
def test_route_sweep(app, actors, actor, endpoint):
    """Every rule x method x object variant of the endpoint answers as POLICY says, and a
    refused request changes nothing. For counselor B, A's object gives the very page a
    missing id gives, and each refusal is written to the audit trail. No page shows a planted
    canary to anyone but A, except the partner's own answer to the partner; the partner (a
    browser holding the portal session of one of A's partners) reaches only its own link's
    pages."""
    rules = [r for r in sweep_rules(app) if r.endpoint == endpoint]
    assert rules, f"POLICY row {endpoint!r} names no route (see test_every_route_is_classified)"
    swept, failures, _ = _sweep(app, actors, actor, rules)
    assert swept > 0
    assert not failures, f"{len(failures)} of {swept} requests broke the policy:\n" + "\n".join(
        failures
    )


def test_the_partner_sweep_sees_its_own_pages(app, actors):
    """The partner's checks are not blind: swept over the portal, its pages showed its own
    answer, its own name and the other partner's shared answer."""
    rules = [r for r in sweep_rules(app) if is_portal(r)]
    # the rules that end the portal session on the server go last (agreements' /p/ rules are
    # registered after the portal's own)
    rules.sort(key=lambda r: r.endpoint in ("portal.leave", "portal.quick_exit"))
    _, failures, seen = _sweep(app, actors, "partner", rules)
    missed = {"own answer", "own name", "shared answer of the other partner"} - seen
    assert not missed, f"the partner's pages never showed its {missed}: the checks are blind"
    assert not failures, "\n".join(failures)


def _sweep(app, actors, actor: str, rules) -> tuple[int, list[str], set[str]]:
    """Request every method and object variant of ``rules`` as ``actor``; (requests made,
    policy failures, what the partner saw of its own link)."""
    column = ACTORS.index(actor)
    account = actors.get(actor)
    client = app.test_client()
    if account:
        sign_in(client, account, form=False)
    a, b = actors["counselor_a"], actors["counselor_b"]
    home = make_partner_home(a, b)
    # Only the partner holds a portal session, and always the one of its own link: a request
    # that changes the cookie (opening another link, leaving) is undone before the next one.
    cookie, headers = None, {}
    if actor == "partner":
        cookie, csrf = _open_portal(client, home.token)
        headers = {"X-CSRF-Token": csrf}
    # the page of a link that does not work, as a browser without any portal session sees it
    not_available = stable_body(app.test_client().get("/p/"))
    assert "This link is not available" in not_available
    failures: list[str] = []
    seen: set[str] = set()  # what the partner saw of its own link (the checks can fail)
    swept = 0
    # Fresh objects for every request, unless the request before (of the same rule) was
    # checked to have changed nothing of them (a read, or a refusal): then they are reused.
    for rule in rules:
        kept = None
        row = POLICY[rule.endpoint]
        for method in methods_of(rule):
            pages = {}
            for variant in variant_names(rule):
                objects = kept or {
                    **make_objects(a, b),
                    "watched": home.case_ids,
                    "portal_assignment_id": home.assignment_id,
                }
                kept = None
                try:
                    values = variants(rule, objects)[variant]
                except UnknownArgument as exc:
                    failures.append(str(exc))
                    break
                table = row.table(variant)
                expected = table.get(method, (None,) * len(ACTORS))[column] if table else None
                url = build_url(rule, values)
                before = snapshot(objects)
                denied_before = _audit_count("access.denied", b)
                forbidden_before = _audit_count("access.forbidden", actors["admin"])
                _set_portal_cookie(client, cookie)
                response = client.open(url, method=method, headers=headers)
                swept += 1
                where = f"{actor} {method} {url} [{rule.endpoint}, {variant}]"
                if not matches(expected, response, objects):
                    failures.append(f"{where}: expected {expected}, got {outcome(response)}")
                if response.status_code >= 500:
                    failures.append(f"{where}: server error")
                if method == "GET" or expected in REFUSALS or actor == "partner":
                    if snapshot(objects) != before:
                        failures.append(f"{where}: a refused or read-only request changed data")
                    else:
                        kept = objects
                # (the partner's own session answers a section it lacks with a page of its own)
                no_session = not cookie or rule.endpoint == "portal.landing"
                if is_portal(rule) and expected == 404 and no_session:
                    if stable_body(response) != not_available:
                        failures.append(f"{where}: not the same 404 as a link that does not work")
                if actor != "counselor_a":
                    leaked = canaries_in(response) - ({home.own_canary} if cookie else set())
                    if leaked:
                        failures.append(f"{where}: shows another's answer {sorted(leaked)}")
                if actor == "partner" and response.status_code == 200:
                    body = body_text(response)
                    seen |= {
                        what
                        for what, marker in (
                            ("own answer", home.own_canary),
                            ("own name", f"For {home.name}"),
                            ("shared answer of the other partner", home.shared),
                        )
                        if marker in body
                    }
                if actor == "counselor_b" and expected == 404:
                    pages[variant] = (response.status_code, stable_body(response))
                    if not is_portal(rule) and (
                        _audit_count("access.denied", b) != denied_before + 1
                    ):
                        failures.append(f"{where}: no single access.denied audit event")
                if actor == "admin" and expected == 403:
                    if _audit_count("access.forbidden", actors["admin"]) != forbidden_before + 1:
                        failures.append(f"{where}: no single access.forbidden audit event")
                if method != "GET" and account and not _signed_in(client):
                    kept = None
                    sign_in(
                        client, account, form=False
                    )  # after logout: sign in again for the next rule
            if len(set(pages.values())) > 1:
                failures.append(
                    f"counselor_b {method} {rule.endpoint}: A's objects and missing ids give "
                    f"different 404 pages ({', '.join(pages)}); ids must reveal nothing"
                )
            # Methods the rule does not take: 405 for everyone, before any login check.
            for other_method in sorted({"GET", "POST"} - set(rule.methods)):
                try:
                    url = build_url(rule, variants(rule, kept or make_objects(a, b))["own"])
                except UnknownArgument:
                    continue  # reported above
                adapter = app.url_map.bind("counselor.test")
                if adapter.test(url, other_method):
                    continue  # another rule answers that method on this URL
                _set_portal_cookie(client, cookie)
                response = client.open(url, method=other_method, headers=headers)
                swept += 1
                if response.status_code != 405:
                    failures.append(
                        f"{actor} {other_method} {url}: expected 405, got {outcome(response)}"
                    )
    return swept, failures, seen


def test_other_counselors_case_gives_the_missing_page_and_is_audited(
    app, client_b, counselor_a, counselor_b
):
    """B probing A's case sees exactly the page of a case that does not exist, and the
    probe is written to the audit trail under B's name."""

    from tests.support import new_case

    case = new_case(counselor_a, "Jo & Lee", ("Jo Secret-Partner", "Lee"))
    probe = client_b.get(f"/cases/{case.id}")
    missing = client_b.get(f"/cases/{uuid.uuid4()}")
    assert probe.status_code == missing.status_code == 404
    assert stable_body(probe) == stable_body(missing)
    assert "Jo Secret-Partner" not in probe.get_data(as_text=True)
    events = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "access.denied", AuditEvent.object_id == str(case.id)
        )
    ).all()
    assert [(e.actor_kind, e.actor_id, e.object_kind) for e in events] == [
        ("counselor", str(counselor_b.id), "case")
    ]


def test_anonymous_is_sent_to_login_and_back(app, counselor_a):
    """An anonymous visitor of a case URL lands on the login page, and after signing in is
    taken back to the page asked for."""
    from tests.support import new_case

    case = new_case(counselor_a)
    client = app.test_client()
    r = client.get(f"/cases/{case.id}")
    assert r.status_code == 302 and urlsplit(r.location).path == "/login"
    r = client.post(r.location, data={"email": counselor_a.email, "password": counselor_a.password})
    assert r.status_code == 302 and urlsplit(r.location).path == f"/cases/{case.id}"


def test_login_refuses_to_send_anyone_offsite(app, counselor_a):
    """The ``next`` parameter only follows local paths (no open redirect), also in the
    spellings browsers bend into another host (backslashes, tabs, extra slashes)."""
    client = app.test_client()
    targets = (
        "https://evil.example/",
        "//evil.example/x",
        "javascript:alert(1)",
        "/\\evil.example",
        "/\t/evil.example",
        "///evil.example",
        "/\\/evil.example",
    )
    for target in targets:
        r = client.post(
            "/login?next=" + quote(target, safe=""),
            data={"email": counselor_a.email, "password": counselor_a.password},
        )
        assert r.status_code == 302
        # How a browser reads the Location: tabs and newlines dropped, "\\" taken as "/".
        seen = re.sub(r"[\t\r\n]", "", r.location).replace("\\", "/")
        assert urlsplit(urljoin("http://counselor.test/login", seen)).netloc == "counselor.test", (
            target,
            r.location,
        )
        client.post("/logout")


def test_reading_a_case_and_a_session_is_audited(app, client_a, counselor_a):
    """Every read of clinical data writes one audit event naming who read what."""
    from tests.sweep import make_objects

    b = make_account("b@example.org", "Counselor B")
    objects = make_objects(counselor_a, b)
    assert client_a.get(f"/cases/{objects['case_id']}").status_code == 200
    url = f"/cases/{objects['case_id']}/sessions/{objects['session_id']}"
    assert client_a.get(url).status_code == 200
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(("case.view", "session.view")))
    ).all()
    assert sorted((e.action, e.actor_id, e.object_id) for e in events) == [
        ("case.view", str(counselor_a.id), str(objects["case_id"])),
        ("session.view", str(counselor_a.id), str(objects["session_id"])),
    ]
