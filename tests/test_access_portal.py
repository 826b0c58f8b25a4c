"""The route sweep's portal half (see tests/test_access.py): one portal session, one link.

Promise 2 of SECURITY.md: a partner's browser holds the portal session of one personal link;
no URL turns it into another link's session, and the cookie of a revoked or reissued link
opens nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from urllib.parse import quote

from sqlalchemy import select

from counselor.extensions import db
from counselor.portal import session as portal_session
from counselor.portal.models import PortalSessionRecord
from tests.sweep import (
    body_text,
    build_url,
    canaries_in,
    is_portal,
    make_objects,
    make_partner_home,
    methods_of,
    snapshot,
    stable_body,
    sweep_rules,
    url_arguments,
)
from tests.test_access import _open_portal, _set_portal_cookie, actors  # noqa: F401 - fixture

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


def test_a_portal_session_cannot_be_turned_into_another_link(app, actors):  # noqa: F811
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


def test_the_cookie_of_a_revoked_or_reissued_link_gives_404(app, actors):  # noqa: F811
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
