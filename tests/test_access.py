"""The route sweep: every rule of the app, for every actor, against counselor A's objects.

Promise 1 of SECURITY.md: a counselor never reaches another counselor's cases, in any way,
and gets the same 404 as for something that does not exist. Anonymous visitors are sent to
the login page; a practice admin sees no clinical page; counselors see no admin page.
Promise 2: a partner (a browser holding the portal session of one of A's partners' links)
gets the login page for every counselor route and, on the portal, only its own link's pages:
no other response's answer (each planted as a canary) shows on any page, and no URL turns
its session into another link's. A counselor's login opens no portal page.

Adding a route:
1. add a row to ``POLICY`` below (a route missing from it fails
   ``test_every_route_is_classified`` with the line to add);
2. if its URL takes an argument the sweep does not know, teach ``tests/sweep.py``
   (``OWN_VALUES``: which of A's objects to put there; ``MISSING_VALUES`` for non-UUIDs).
The sweep here, the CSRF test in ``test_auth.py`` and the page checks in ``test_errors.py``
then cover the route by themselves.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

import pytest
from sqlalchemy import func, select

from counselor.core.audit import AuditEvent
from counselor.extensions import db
from counselor.portal import session as portal_session
from counselor.portal.models import PortalSessionRecord
from tests.support import make_account, open_portal, sign_in
from tests.sweep import (
    ACTORS,
    LOGIN,
    SIGNED_OUT,
    Redirect,
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
    url_arguments,
    variant_names,
    variants,
)


@dataclass(frozen=True)
class Row:
    """What each actor gets, per method: ``own`` for A's objects in the URL; ``missing``
    for ids that name nothing (None for rules without ids); ``imported`` for A's own
    imported questionnaire where ``own`` names a built-in one. Tuples follow ``ACTORS``:
    (anonymous, counselor A, counselor B, admin, partner)."""

    own: dict[str, tuple]
    missing: dict[str, tuple] | None = None
    imported: dict[str, tuple] | None = None

    def table(self, variant: str) -> dict[str, tuple] | None:
        """The expectations for an object variant (``mixed`` ids are missing ones)."""
        return {"own": self.own, "imported": self.imported}.get(variant, self.missing)


def owned(**methods) -> Row:
    """A clinical page of one of A's objects: A gets ``methods[m]``, B the same 404 as a
    missing object, the admin 403, anonymous and the partner the login page."""
    return Row(
        own={m: (LOGIN, want, 404, 403, LOGIN) for m, want in methods.items()},
        missing={m: (LOGIN, 404, 404, 403, LOGIN) for m in methods},
    )


def caseload(**methods) -> Row:
    """A clinical page without ids: each counselor gets it for their own caseload."""
    return Row(own={m: (LOGIN, want, want, 403, LOGIN) for m, want in methods.items()})


def library(**methods) -> Row:
    """A questionnaire page: a built-in questionnaire is every counselor's, an imported one
    only its owner's (B gets the missing page for A's)."""
    return Row(
        own={m: (LOGIN, want, want, 403, LOGIN) for m, want in methods.items()},
        imported={m: (LOGIN, want, 404, 403, LOGIN) for m, want in methods.items()},
        missing={m: (LOGIN, 404, 404, 403, LOGIN) for m in methods},
    )


def builder(**methods) -> Row:
    """Editing a questionnaire: only its owner (A, for A's own); a built-in (``own``) or
    missing one is the missing page for every counselor."""
    return Row(
        own={m: (LOGIN, 404, 404, 403, LOGIN) for m in methods},
        imported={m: (LOGIN, want, 404, 403, LOGIN) for m, want in methods.items()},
        missing={m: (LOGIN, 404, 404, 403, LOGIN) for m in methods},
    )


def admin_page(**methods) -> Row:
    """An account-management page: only the admin."""
    return Row(own={m: (LOGIN, 403, 403, want, LOGIN) for m, want in methods.items()})


def admin_object(**methods) -> Row:
    """An account-management action on A's account (the admin gets 404 for a missing one)."""
    return Row(
        own={m: (LOGIN, 403, 403, want, LOGIN) for m, want in methods.items()},
        missing={m: (LOGIN, 403, 403, 404, LOGIN) for m in methods},
    )


def signed_in(**methods) -> Row:
    """One's own account pages: every counselor and admin signed in."""
    return Row(own={m: (LOGIN, want, want, want, LOGIN) for m, want in methods.items()})


def portal(missing: bool = False, **methods) -> Row:
    """A partner-portal page: only the partner's own portal session reaches it; everyone
    else (a counselor's login included: the portal never uses Flask-Login) gets the same 404
    "link not available" page. ``missing``: what each actor gets for a section number that
    names nothing (all 404)."""
    return Row(
        own={m: (404, 404, 404, 404, want) for m, want in methods.items()},
        missing={m: (404,) * len(ACTORS) for m in methods} if missing else None,
    )


def everyone(**methods) -> Row:
    """The same answer for every actor, for A's ids and missing ones alike."""
    rows = {m: (want,) * len(ACTORS) for m, want in methods.items()}
    return Row(own=rows, missing=rows)


def explicit(missing: dict[str, tuple] | None = None, **methods) -> Row:
    """Spelled out per actor: (anonymous, counselor A, counselor B, admin, partner);
    ``missing`` the same for ids that name nothing."""
    return Row(own=dict(methods), missing=missing)


HOME = Redirect("/")
TO_CASE = Redirect("/cases/{case_id}")
TO_ACCOUNTS = Redirect("/admin/counselors")
TO_ASSIGNMENT = Redirect("/cases/{case_id}/assignments/{assignment_id}")
TO_COMPARE = Redirect("/cases/{case_id}/assignments/{assignment_id}/compare")
TO_NEW_EXPORT = Redirect("/cases/{case_id}/exports/{new}")
TO_PORTAL = Redirect("/p/")
TO_NEW_DRAFT = Redirect("/questionnaires/{new}/edit")
TO_OWN_EDITOR = Redirect("/questionnaires/{own_questionnaire_id}/edit")
TO_LEARNING = Redirect("/cases/{case_id}/assignments/{learning_assignment_id}")
TO_NEW_HOME_LINK = Redirect("/cases/{case_id}/partners/{partner_id}/home-link/{new}")

# Requests carry no form data: 400 means "the form answered with its errors, nothing saved".
# A's assignment is released and its partners have submitted; its export is ready.
# The partner's requests carry its portal CSRF token; its own link's answers are submitted
# and released, so the portal lets it read but change nothing.
POLICY: dict[str, Row] = {
    # endpoint                 what each actor gets
    "auth.login": explicit(GET=(200, HOME, HOME, HOME, 200), POST=(400, HOME, HOME, HOME, 400)),
    "auth.logout": explicit(POST=(LOGIN, SIGNED_OUT, SIGNED_OUT, SIGNED_OUT, LOGIN)),
    "auth.change_password": signed_in(GET=200, POST=400),
    # the TOTP step: no password step pending in the sweep's browsers, so back to the login
    "auth.login_totp": explicit(
        GET=(LOGIN, HOME, HOME, HOME, LOGIN), POST=(LOGIN, HOME, HOME, HOME, LOGIN)
    ),
    "auth.totp": signed_in(GET=200, POST=400),  # one's own enrolment page; POST: no code
    "cases.home": explicit(
        GET=(
            Redirect("/cases"),
            Redirect("/cases"),
            Redirect("/cases"),
            TO_ACCOUNTS,
            Redirect("/cases"),
        )
    ),
    "cases.index": caseload(GET=200),
    "cases.new": caseload(GET=200, POST=400),
    "cases.show": owned(GET=200),
    "cases.edit": owned(GET=200, POST=400),
    "cases.archive": owned(POST=TO_CASE),
    "cases.unarchive": owned(POST=TO_CASE),
    "cases.delete": owned(GET=200, POST=400),
    "cases.relationships": owned(GET=200, POST=TO_CASE),  # no box ticked: nobody together
    "cases.new_session": owned(GET=200, POST=400),
    "cases.show_session": owned(GET=200),
    "cases.edit_session": owned(GET=200, POST=400),
    "cases.delete_session": owned(POST=TO_CASE),
    # a partner's home link: given (shown once after a redirect), revoked
    "cases.issue_home_link": owned(POST=TO_NEW_HOME_LINK),
    "cases.home_link": owned(GET=TO_CASE),  # no link waits to be shown in the sweep
    "cases.revoke_home_link": owned(POST=TO_CASE),
    "admin.counselors": admin_page(GET=200, POST=400),
    "admin.disable": admin_object(POST=TO_ACCOUNTS),
    "admin.enable": admin_object(POST=TO_ACCOUNTS),
    "admin.practice": admin_page(GET=200, POST=Redirect("/admin/practice")),  # empty: defaults
    # questionnaires: the library, A's assignment and its links
    "questionnaires.library": caseload(GET=200),
    "questionnaires.preview": library(GET=200),
    "questionnaires.import_definition": caseload(GET=200, POST=400),
    "questionnaires.assign_many": library(GET=200, POST=400),
    # the builder: anyone who reads a questionnaire may copy it; only its owner edits it
    "questionnaires.create": caseload(POST=TO_NEW_DRAFT),
    "questionnaires.clone": library(POST=TO_NEW_DRAFT),
    "questionnaires.edit": builder(GET=200, POST=400),
    "questionnaires.check": builder(POST=400),  # no JSON posted
    # the builder's plain forms: no item or score named in the query, back to the builder
    "questionnaires.item_rules": builder(GET=TO_OWN_EDITOR, POST=TO_OWN_EDITOR),
    "questionnaires.score_rule": builder(GET=TO_OWN_EDITOR, POST=TO_OWN_EDITOR),
    "questionnaires.publish": builder(POST=TO_OWN_EDITOR),  # already published: says so
    "questionnaires.share": builder(POST=Redirect("/questionnaires/{own_questionnaire_id}")),
    "questionnaires.export_fhir": library(GET=200),
    "questionnaires.import_fhir": caseload(GET=200, POST=400),
    "questionnaires.assign": owned(GET=200, POST=400),
    "questionnaires.assignment": owned(GET=200),
    "questionnaires.lock": owned(POST=TO_ASSIGNMENT),
    "questionnaires.unlock": owned(POST=TO_ASSIGNMENT),
    "questionnaires.change_due": owned(POST=TO_ASSIGNMENT),  # an empty date clears it
    # the new link is shown on a GET after the POST; that GET shows it once, then (or for a
    # key it never made) goes back to the assignment
    "questionnaires.reissue": owned(
        POST=Redirect("/cases/{case_id}/assignments/{assignment_id}/new-link/{new}")
    ),
    "questionnaires.new_link": owned(GET=TO_ASSIGNMENT),
    "questionnaires.revoke": owned(POST=TO_ASSIGNMENT),
    # reveal: comparison, release (needs the confirm box), alerts (need a note), exports
    "reveal.compare": owned(GET=200),
    "reveal.release": owned(POST=400),
    "reveal.withdraw": owned(POST=TO_COMPARE),
    "alerts.acknowledge": owned(POST=400),
    "reveal.fhir": owned(GET=200),
    "reveal.preview": owned(GET=200),
    "reveal.export_csv": owned(GET=200),
    # reports: PDF exports (the kind defaults to the clinical record; retry: failed ones only)
    "reports.request_session_export": owned(POST=TO_NEW_EXPORT),
    "reports.request_case_export": owned(POST=TO_NEW_EXPORT),
    "reports.show": owned(GET=200),
    "reports.status": owned(GET=200),
    "reports.download": owned(GET=200),
    "reports.retry": owned(POST=409),
    "reports.delete": owned(POST=TO_CASE),
    # mail: one's own notification choices (POST: no delivery chosen); the development
    # mailbox is the machine's (no SMTP configured in the tests): every signed-in user
    "mail.notifications": caseload(GET=200, POST=400),
    "mail.dev_mailbox": signed_in(GET=200),
    # the opt-out link of a partner's mails: its signed token is the credential; the GET only
    # shows the button (mail scanners fetch links), the POST opts the partner out
    "mail.opt_out": explicit(
        GET=(200,) * len(ACTORS),
        POST=(200,) * len(ACTORS),
        missing={"GET": (404,) * len(ACTORS), "POST": (404,) * len(ACTORS)},
    ),
    "mail.dev_mail": explicit(
        GET=(LOGIN, 200, 200, 200, LOGIN), missing={"GET": (LOGIN, 404, 404, 404, LOGIN)}
    ),
    # the partner portal: the token is the credential, whoever holds it (a bad one: 404);
    # the /p/ pages carry no ids and serve only the portal session's own link
    # GET shows the button and changes nothing (link previews); a POST without the button's
    # CSRF token is refused
    "portal.landing": explicit(
        GET=(200,) * len(ACTORS),
        POST=(400,) * len(ACTORS),
        missing={"GET": (404,) * len(ACTORS), "POST": (404,) * len(ACTORS)},
    ),
    # the partner's home link and a mail's sign-in link: the same landing as a personal link
    "portal.home_landing": explicit(
        GET=(200,) * len(ACTORS),
        POST=(400,) * len(ACTORS),
        missing={"GET": (404,) * len(ACTORS), "POST": (404,) * len(ACTORS)},
    ),
    "portal.sign_in": explicit(
        GET=(200,) * len(ACTORS),
        POST=(400,) * len(ACTORS),
        missing={"GET": (404,) * len(ACTORS), "POST": (404,) * len(ACTORS)},
    ),
    # the home lists the partner's own homework; /p/ is the homework the session is on
    "portal.home": portal(GET=200),
    "portal.start": portal(GET=200),
    # homework pages: /p/a/<the partner's own assignment>/… and the short /p/… of the one the
    # session is on; any other assignment id is the same 404 as a link that does not work
    "portal.overview": portal(GET=200, missing=True),
    "portal.section": portal(GET=200, POST=400, missing=True),  # POST: no revision in the form
    "portal.autosave": portal(POST=400, missing=True),  # no JSON body
    "portal.review": portal(GET=200, missing=True),
    "portal.submit": portal(POST=400, missing=True),  # no revision in the form
    "portal.reopen": portal(POST=409, missing=True),  # released: no reopening, with the reason
    "portal.shared": portal(GET=200, missing=True),
    "portal.leave": portal(POST=200),  # forgets the portal cookie (the sweep puts it back)
    "portal.pin": portal(GET=TO_PORTAL, POST=TO_PORTAL),  # this link has no PIN
    "portal.pin_set": portal(POST=400),  # no PIN in the form
    # agreements: A's agreement has a published version and a draft open (its POST without a
    # title, material without a tick and publish without its version: 400, nothing saved)
    "agreements.new": owned(GET=200, POST=400),
    "agreements.show": owned(GET=200),
    "agreements.draft": owned(GET=200, POST=400),
    "agreements.material": owned(POST=400),
    "agreements.publish": owned(POST=400),
    # check-ins: the schedule form (its POST without a questionnaire: 400, nothing made), a
    # schedule's one-click change (without the button's action: 400), the trends page
    "checkins.new": owned(GET=200, POST=400),
    "checkins.change": owned(POST=400),
    "checkins.show_trends": owned(GET=200),
    # the partner's agreement pages: the list is its own; A's agreement is one the partner
    # is not in (a partner of another case), so it gets the very 404 of a missing one
    "agreements.portal_list": portal(GET=200),
    "agreements.portal_show": portal(GET=404, missing=True),
    "agreements.portal_answer": portal(POST=404, missing=True),
    "agreements.portal_pause": portal(POST=404, missing=True),
    "agreements.portal_pause_note": portal(POST=404, missing=True),
    "agreements.portal_lift": portal(POST=404, missing=True),
    "agreements.portal_pdf": portal(POST=404, missing=True),
    "agreements.portal_pdf_status": portal(GET=404, missing=True),
    "agreements.portal_pdf_download": portal(GET=404, missing=True),
    # informed consent: the practice's text (admin; POST without text: 400), the counselor's
    # record of a case, the partner's page (POST without the text's version: 400)
    "consent.text": admin_page(GET=200, POST=400),
    "consent.case_record": owned(GET=200),
    "consent.portal_consent": portal(GET=200, POST=400),
    # the resource library: A's own resource (B: the missing page); resources of A's
    # learning-together assignment (an empty choice clears them)
    "learning.index": caseload(GET=200, POST=400),
    "learning.edit": owned(GET=200, POST=400),
    "learning.delete": owned(POST=Redirect("/resources")),
    "learning.attach": owned(GET=200, POST=TO_LEARNING),
    # steps: A's ladder has one open step (a POST without its fields is refused, nothing
    # saved: 400; deciding on a step that is no proposal, resuming one not paused: 409)
    "steps.case_steps": owned(GET=200, POST=400),
    "steps.edit": owned(GET=200, POST=400),
    "steps.move": owned(POST=400),
    "steps.decide": owned(POST=409),
    "steps.resume": owned(POST=409),
    # the partner's steps and log are their own; A's ladder is one the partner is not in
    "steps.portal_steps": portal(GET=200),
    "steps.portal_log": portal(GET=200),
    "steps.portal_mark": portal(POST=404, missing=True),
    "steps.portal_share": portal(POST=404, missing=True),
    "steps.portal_propose": portal(POST=404, missing=True),
    # Quick exit leaves for the neutral page whoever asks; it ends a session only with the
    # portal's token
    "portal.quick_exit": everyone(POST=200),
}

#: every outcome a refused request may have; such a request must change nothing
REFUSALS = (LOGIN, 400, 403, 404, 405, 409)


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
                "classify it in tests/test_access.py with owned, caseload, library, admin_page, "
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
    import uuid

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


# --- the partner portal: one session, one link ---------------------------------------------


def _portal_urls(app, sections: int, assignment_id) -> list[tuple[str, str]]:
    """(method, path) of every /p/ page, the homework pages of ``assignment_id``: each
    section number of the questionnaire and the numbers just outside it. (Landings and Quick
    exit are no pages of a session: Quick exit leaves for the neutral page whoever asks.
    Agreement and ladder pages carry its id and are swept, per partner, in tests/agreements
    and tests/steps.)"""
    urls = []
    for rule in sweep_rules(app):
        if not is_portal(rule) or rule.endpoint in LANDINGS or rule.endpoint == "portal.quick_exit":
            continue
        arguments = url_arguments(rule)
        if "agreement_id" in arguments or "ladder_id" in arguments:
            continue
        numbers = range(0, sections + 2) if "number" in arguments else (None,)
        for method in methods_of(rule):
            for n in numbers:
                values = {"number": n} if n is not None else {}
                if "assignment_id" in arguments:
                    values["assignment_id"] = assignment_id
                urls.append((method, build_url(rule, values)))
    return urls


#: the portal's landings and the token argument each takes
LANDINGS = {
    "portal.landing": "token",
    "portal.home_landing": "home_token",
    "portal.sign_in": "sign_in_token",
}


def _sections_of(assignment_id) -> int:
    from counselor.questionnaires.models import Assignment

    return len(db.session.get(Assignment, assignment_id).version.definition.sections)


def test_a_portal_session_cannot_be_turned_into_another_link(app, actors):
    """A partner's portal session serves that partner's own homework and nothing else.

    The portal URLs carry at most an assignment id and a section number: a /p/ page serves
    the partner the signed portal cookie names, /p/a/<id>/… only an assignment given to that
    partner, and every other id (the other partner's only homework, another case's, one that
    names nothing) gives the same 404. So no URL (and no query string or form field naming
    another link, assignment, response or token) shows another response's answer or changes
    it; and not even a cookie signed with the app's own key works without a session the
    server recorded for a link.
    """
    from counselor.questionnaires.models import Assignment, Link, Response

    a, b = actors["counselor_a"], actors["counselor_b"]
    home = make_partner_home(a, b)
    for rule in sweep_rules(app):
        if is_portal(rule):
            allowed = {LANDINGS[rule.endpoint]} if rule.endpoint in LANDINGS else set()
            allowed |= {"number", "assignment_id"} if rule.endpoint not in LANDINGS else set()
            # an agreement's pages name it, and answer 404 for one the partner is not in
            # (tests/agreements: a partner outside the agreement or of another case)
            if rule.endpoint.startswith("agreements."):
                allowed = {"agreement_id", "export_id"}
            # a ladder's buttons name it, and answer 404 for a ladder the partner is not of
            # (tests/steps: a partner outside the agreement, another case's ladder)
            if rule.endpoint.startswith("steps."):
                allowed = {"ladder_id"}
            assert url_arguments(rule) <= allowed, f"{rule.rule}: portal URLs carry no other ids"
    partner = app.test_client()
    cookie, csrf = _open_portal(partner, home.token)
    watched = {**make_objects(a, b), "watched": home.case_ids}
    before = snapshot(watched)
    others = [
        *(str(x) for x in db.session.scalars(select(Link.id).where(Link.id != home.link_id))),
        *(str(x) for x in db.session.scalars(select(Assignment.id))),
        *(str(x) for x in db.session.scalars(select(Response.id))),
        home.other_token,
        home.b_token,
        watched["token"],
    ]
    keys = ("l", "link", "link_id", "assignment", "assignment_id", "response_id", "token", "id")
    queries = ["", *(f"?{k}={quote(v)}" for k in keys for v in others[:: max(1, len(others) // 6)])]
    forms = [{k: v for k in keys} for v in others]
    requests = 0
    failures = []
    sections = _sections_of(home.assignment_id)
    for method, path in _portal_urls(app, sections, home.assignment_id):
        if method == "GET":
            tries = [(path + q, None) for q in queries]
        else:
            tries = [(path, {**form, "csrf_token": csrf}) for form in forms[:4]]
        for url, form in tries:
            _set_portal_cookie(partner, cookie)
            r = partner.open(url, method=method, data=form, headers={"X-CSRF-Token": csrf})
            requests += 1
            leaked = canaries_in(r) - {home.own_canary}
            if leaked or r.status_code >= 500:
                failures.append(f"{method} {url}: {r.status_code}, shows {sorted(leaked)}")
            if path == "/p/" and r.status_code == 200 and f"For {home.name}" not in body_text(r):
                failures.append(f"{method} {url}: the overview is not Home Partner One's")
    # Every assignment that is not this partner's, and one that names nothing: the same 404.
    mine = {home.assignment_id, home.other_assignment_id}
    foreign = [x for x in db.session.scalars(select(Assignment.id)) if x not in mine]
    assert len(foreign) >= 2  # the case of B's, and A's sweep case
    _set_portal_cookie(partner, cookie)
    missing_page = stable_body(partner.get(f"/p/a/{uuid.uuid4()}/"))
    for assignment_id in foreign:
        for method, path in _portal_urls(app, sections, assignment_id):
            if "/p/a/" not in path:
                continue
            _set_portal_cookie(partner, cookie)
            r = partner.open(path, method=method, headers={"X-CSRF-Token": csrf})
            requests += 1
            if r.status_code != 404 or (method == "GET" and stable_body(r) != missing_page):
                failures.append(f"{method} {path}: {r.status_code}, not the missing page")
            if canaries_in(r):
                failures.append(f"{method} {path}: shows {sorted(canaries_in(r))}")
    assert not failures, "\n".join(failures)
    assert snapshot(watched) == before, "a partner request changed another link's data"
    assert requests > 50

    # A cookie signed with the app's key naming a session the server never recorded: 404. The
    # same cookie works once the server holds that session (the control): only opening a
    # link records one.
    with app.test_request_context():
        forged = portal_session.SIGNED.serializer().dumps({"s": "x"})
    # (a change in the payload: the last characters of the signature may be padding bits)
    tampered = cookie[:5] + ("A" if cookie[5] != "A" else "B") + cookie[6:]
    for value in (forged, tampered):
        browser = app.test_client()
        _set_portal_cookie(browser, value)
        assert browser.get("/p/review").status_code == 404
    db.session.add(
        PortalSessionRecord(
            sid_hash=hashlib.sha256(b"x").hexdigest(),
            partner_id=home.partner_id,
            link_id=home.other_link_id,
            focus_assignment_id=home.other_assignment_id,
        )
    )
    db.session.commit()
    browser = app.test_client()
    _set_portal_cookie(browser, forged)
    assert browser.get("/p/review").status_code == 200


def test_the_cookie_of_a_revoked_or_reissued_link_gives_404(app, actors):
    """Reissuing a link or revoking it ends every portal session made from it at the next
    request: each /p/ page (reads and posts with the session's own CSRF token) gives the
    "link not available" 404 and shows no answer; the reissued link works."""
    from counselor.questionnaires import services
    from counselor.questionnaires.models import Assignment

    a, b = actors["counselor_a"], actors["counselor_b"]
    home = make_partner_home(a, b)
    sessions = {}
    for name, token in (("reissued", home.token), ("revoked", home.other_token)):
        browser = app.test_client()
        cookie, csrf = _open_portal(browser, token)
        sessions[name] = (browser, cookie, csrf)
    not_found = stable_body(app.test_client().get("/p/"))
    fresh = services.reissue(db.session.get(Assignment, home.assignment_id), home.partner_id)
    services.revoke(db.session.get(Assignment, home.other_assignment_id), home.partner_id)
    db.session.commit()
    watched = {**make_objects(a, b), "watched": home.case_ids}
    before = snapshot(watched)
    for name, (browser, cookie, csrf) in sessions.items():
        for method, path in _portal_urls(app, _sections_of(home.assignment_id), home.assignment_id):
            for client in (browser, app.test_client()):  # the same cookie in another browser
                _set_portal_cookie(client, cookie)
                r = client.open(path, method=method, headers={"X-CSRF-Token": csrf})
                assert r.status_code == 404, (name, method, path, r.status_code)
                assert stable_body(r) == not_found, (name, method, path)
                assert not canaries_in(r)
    assert snapshot(watched) == before
    for token in (home.token, home.other_token):
        assert app.test_client().get(f"/l/{token}").status_code == 404
    browser = app.test_client()
    _open_portal(browser, fresh.token)
    assert home.own_canary in body_text(browser.get("/p/review"))
