"""The route sweep: every rule of the app, for every actor, against counselor A's objects.

Promise 1 of SECURITY.md: a counselor never reaches another counselor's cases, in any way,
and gets the same 404 as for something that does not exist. Anonymous visitors are sent to
the login page; a practice admin sees no clinical page; counselors see no admin page.

Adding a route:
1. add a row to ``POLICY`` below (a route missing from it fails
   ``test_every_route_is_classified`` with the line to add);
2. if its URL takes an argument the sweep does not know, teach ``tests/sweep.py``
   (``OWN_VALUES``: which of A's objects to put there; ``MISSING_VALUES`` for non-UUIDs).
The sweep here, the CSRF test in ``test_auth.py`` and the page checks in ``test_errors.py``
then cover the route by themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

import pytest
from sqlalchemy import func, select

from counselor.core.audit import AuditEvent
from counselor.extensions import db
from tests.conftest import login, make_account
from tests.sweep import (
    ACTORS,
    LOGIN,
    SIGNED_OUT,
    Redirect,
    UnknownArgument,
    build_url,
    make_objects,
    matches,
    methods_of,
    outcome,
    snapshot,
    stable_body,
    sweep_rules,
    variant_names,
    variants,
)


@dataclass(frozen=True)
class Row:
    """What each actor gets, per method: ``own`` for A's objects in the URL; ``missing``
    for ids that name nothing (None for rules without ids). Tuples follow ``ACTORS``:
    (anonymous, counselor A, counselor B, admin)."""

    own: dict[str, tuple]
    missing: dict[str, tuple] | None = None


def owned(**methods) -> Row:
    """A clinical page of one of A's objects: A gets ``methods[m]``, B the same 404 as a
    missing object, the admin 403, anonymous the login page."""
    return Row(
        own={m: (LOGIN, want, 404, 403) for m, want in methods.items()},
        missing={m: (LOGIN, 404, 404, 403) for m in methods},
    )


def caseload(**methods) -> Row:
    """A clinical page without ids: each counselor gets it for their own caseload."""
    return Row(own={m: (LOGIN, want, want, 403) for m, want in methods.items()})


def admin_page(**methods) -> Row:
    """An account-management page: only the admin."""
    return Row(own={m: (LOGIN, 403, 403, want) for m, want in methods.items()})


def admin_object(**methods) -> Row:
    """An account-management action on A's account (the admin gets 404 for a missing one)."""
    return Row(
        own={m: (LOGIN, 403, 403, want) for m, want in methods.items()},
        missing={m: (LOGIN, 403, 403, 404) for m in methods},
    )


def signed_in(**methods) -> Row:
    """One's own account pages: everyone signed in."""
    return Row(own={m: (LOGIN, want, want, want) for m, want in methods.items()})


def everyone(**methods) -> Row:
    """The same answer for every actor, for A's ids and missing ones alike (for example a
    partner-portal page, which knows no counselor)."""
    rows = {m: (want,) * len(ACTORS) for m, want in methods.items()}
    return Row(own=rows, missing=rows)


def explicit(missing: dict[str, tuple] | None = None, **methods) -> Row:
    """Spelled out per actor: (anonymous, counselor A, counselor B, admin); ``missing`` the
    same for ids that name nothing."""
    return Row(own=dict(methods), missing=missing)


HOME = Redirect("/")
TO_CASE = Redirect("/cases/{case_id}")
TO_ACCOUNTS = Redirect("/admin/counselors")

# Requests carry no form data: 400 means "the form answered with its errors, nothing saved".
POLICY: dict[str, Row] = {
    # endpoint                 what each actor gets
    "auth.login": explicit(GET=(200, HOME, HOME, HOME), POST=(400, HOME, HOME, HOME)),
    "auth.logout": explicit(POST=(LOGIN, SIGNED_OUT, SIGNED_OUT, SIGNED_OUT)),
    "auth.change_password": signed_in(GET=200, POST=400),
    "cases.home": explicit(
        GET=(Redirect("/cases"), Redirect("/cases"), Redirect("/cases"), TO_ACCOUNTS)
    ),
    "cases.index": caseload(GET=200),
    "cases.new": caseload(GET=200, POST=400),
    "cases.show": owned(GET=200),
    "cases.edit": owned(GET=200, POST=400),
    "cases.archive": owned(POST=TO_CASE),
    "cases.unarchive": owned(POST=TO_CASE),
    "cases.delete": owned(GET=200, POST=400),
    "cases.new_session": owned(GET=200, POST=400),
    "cases.show_session": owned(GET=200),
    "cases.edit_session": owned(GET=200, POST=400),
    "cases.delete_session": owned(POST=TO_CASE),
    "admin.counselors": admin_page(GET=200, POST=400),
    "admin.disable": admin_object(POST=TO_ACCOUNTS),
    "admin.enable": admin_object(POST=TO_ACCOUNTS),
}

#: every outcome a refused request may have; such a request must change nothing
REFUSALS = (LOGIN, 400, 403, 404, 405)


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
                "classify it in tests/test_access.py with owned, caseload, admin_page, "
                f'admin_object, signed_in, everyone or explicit, e.g. "{rule.endpoint}": '
                f"{helper}({wants}),"
            )
            continue
        if set(row.own) != set(methods_of(rule)):
            problems.append(
                f"{rule.endpoint}: POLICY covers {sorted(row.own)} but the route answers "
                f"{methods_of(rule)}; make the row match."
            )
        if row.missing is None and rule.arguments:
            problems.append(
                f"{rule.endpoint}: the row needs `missing` (what ids naming nothing give): the URL "
                f"carries ids ({sorted(rule.arguments) or 'none'})."
            )
    known = {r.endpoint for r in sweep_rules(app)}
    problems += [
        f"POLICY row {e!r} names no route any more; remove it." for e in POLICY if e not in known
    ]
    assert not problems, "\n".join(problems)


@pytest.fixture
def actors(app):
    """Counselors A and B and the admin, with a browser for each actor (only the actor
    under test is signed in, see ``sign_in``)."""
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


@pytest.mark.parametrize("actor", ACTORS)
def test_route_sweep(app, actors, actor):
    """Every rule x method x object variant answers as POLICY says, and a refused request
    changes nothing. For counselor B, A's object gives the very page a missing id gives, and
    each refusal is written to the audit trail."""
    column = ACTORS.index(actor)
    account = actors.get(actor)
    client = app.test_client()
    if account:
        login(client, account)
    a, b = actors["counselor_a"], actors["counselor_b"]
    failures: list[str] = []
    swept = 0
    for rule in sweep_rules(app):
        row = POLICY.get(rule.endpoint)
        if row is None:
            continue  # reported by test_every_route_is_classified
        for method in methods_of(rule):
            pages = {}
            for variant in variant_names(rule):
                objects = make_objects(a, b)
                try:
                    values = variants(rule, objects)[variant]
                except UnknownArgument as exc:
                    failures.append(str(exc))
                    break
                table = row.own if variant == "own" else row.missing
                expected = table.get(method, (None,) * 4)[column] if table else None
                url = build_url(rule, values)
                before = snapshot(objects)
                denied_before = _audit_count("access.denied", b)
                forbidden_before = _audit_count("access.forbidden", actors["admin"])
                response = client.open(url, method=method)
                swept += 1
                where = f"{actor} {method} {url} [{rule.endpoint}, {variant}]"
                if not matches(expected, response, objects):
                    failures.append(f"{where}: expected {expected}, got {outcome(response)}")
                if response.status_code >= 500:
                    failures.append(f"{where}: server error")
                if method == "GET" or expected in REFUSALS:
                    if snapshot(objects) != before:
                        failures.append(f"{where}: a refused or read-only request changed A's data")
                if actor == "counselor_b" and expected == 404:
                    pages[variant] = (response.status_code, stable_body(response))
                    if _audit_count("access.denied", b) != denied_before + 1:
                        failures.append(f"{where}: no single access.denied audit event")
                if actor == "admin" and expected == 403:
                    if _audit_count("access.forbidden", actors["admin"]) != forbidden_before + 1:
                        failures.append(f"{where}: no single access.forbidden audit event")
                if method != "GET" and account and not _signed_in(client):
                    login(client, account)  # after logout: sign in again for the next rule
            if "own" in pages:
                for other in ("missing", "mixed"):
                    if other in pages and pages[other] != pages["own"]:
                        failures.append(
                            f"counselor_b {method} {rule.endpoint}: A's object and a {other} id "
                            "give different 404 pages (ids must reveal nothing)"
                        )
            # Methods the rule does not take: 405 for everyone, before any login check.
            for other_method in sorted({"GET", "POST"} - set(rule.methods)):
                try:
                    url = build_url(rule, variants(rule, make_objects(a, b))["own"])
                except UnknownArgument:
                    continue  # reported above
                adapter = app.url_map.bind("counselor.test")
                if adapter.test(url, other_method):
                    continue  # another rule answers that method on this URL
                response = client.open(url, method=other_method)
                swept += 1
                if response.status_code != 405:
                    failures.append(
                        f"{actor} {other_method} {url}: expected 405, got {outcome(response)}"
                    )
    assert swept > 0
    assert not failures, f"{len(failures)} of {swept} requests broke the policy:\n" + "\n".join(
        failures
    )


def test_other_counselors_case_gives_the_missing_page_and_is_audited(
    app, client_b, counselor_a, counselor_b
):
    """B probing A's case sees exactly the page of a case that does not exist, and the
    probe is written to the audit trail under B's name."""
    import uuid

    from tests.conftest import new_case

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
    from tests.conftest import new_case

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
