"""Release against reopen as real concurrent HTTP requests on PostgreSQL (issue 8, item 1).

A real server (werkzeug, one thread per request, each with its own database connection)
serves the app. In every try both partners have submitted; then at the same moment the
counselor POSTs the release and partner one POSTs /p/reopen, and if the reopen went through,
partner one tries to change an answer. Afterwards the invariant must hold:
*released ⇒ every assigned response submitted and unchanged since the release*. Without the
assignment's row lock, 42 to 47 of 60 tries ended released with partner one back in draft.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from functools import partial

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from counselor.core.models import utcnow
from counselor.extensions import db
from counselor.questionnaires.models import Assignment, Response
from counselor.questionnaires.services import assign, load_definition
from tests.support import (
    PG_URL,
    landing_csrf,
    new_case,
    portal_csrf,
    revision_of,
    service_unavailable,
)
from tests.support.mail import tell_counselors
from tests.support.races import after, at_once, until_both_orders

#: tries per run (the issue asks for at least 50)
TRIES = 60

DEFINITION = {
    "slug": "race-check",
    "title": "Race check",
    "purpose": "One desire item, for the release race test.",
    "kind": "exercise",
    "items": [
        {
            "link_id": "together",
            "type": "desire",
            "text": "Something together",
            "roles": [{"key": "together", "label": "Together"}],
        }
    ],
}
SUBMITTED = {"together": {"roles": {"together": "no"}, "hard_limit": False, "note": ""}}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the test reads the 302 itself


class Browser:
    """A real HTTP client with its own cookies (one per person)."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirects()
        )

    def request(self, path: str, data: dict | None = None, *, json_body=None, headers=None):
        body, head = None, dict(headers or {})
        if json_body is not None:
            body, head["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        elif data is not None:
            body = urllib.parse.urlencode(data).encode()
        # always http://127.0.0.1 (the test's own server), never a file: or other scheme
        req = urllib.request.Request(self.base + path, data=body, headers=head)  # noqa: S310
        try:
            with self.opener.open(req, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()


def _csrf(page: str) -> str:
    m = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert m, "no CSRF token on the page"
    return m.group(1)


@pytest.fixture
def server(make_app, app):
    """The app with real CSRF, served on 127.0.0.1 from a thread (one thread per request)."""
    if not PG_URL:
        service_unavailable("PostgreSQL (COUNSELOR_TEST_DATABASE_URL) for the race test")
    served = make_app(WTF_CSRF_ENABLED=True, SERVER_NAME=None)
    httpd = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, name="race-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def _reset(assignment_id) -> dict:
    """Both partners submitted, nothing released; returns each response's revision."""
    db.session.expire_all()
    assignment = db.session.get(Assignment, assignment_id)
    assignment.released_at = None
    for response in assignment.responses:
        if response.status != "submitted" or response.answers != SUBMITTED:
            response.answers = SUBMITTED
            response.status, response.submitted_at = "submitted", utcnow()
    db.session.commit()
    return {r.id: r.revision for r in assignment.responses}


def _state(assignment_id) -> tuple[bool, list[Response]]:
    db.session.expire_all()
    released = db.session.get(Assignment, assignment_id).released_at is not None
    responses = list(
        db.session.scalars(select(Response).where(Response.assignment_id == assignment_id))
    )
    db.session.commit()
    return released, responses


def test_release_and_reopen_racing_never_release_a_changed_answer(server, app, counselor_a, capsys):
    case = new_case(counselor_a)
    questionnaire, _ = load_definition(DEFINITION, counselor_a.id)
    assignment, issued = assign(
        case, questionnaire.latest, [], due_on=None, instructions=None, ttl_days=None, links=True
    )
    db.session.commit()
    base = f"/cases/{case.id}/assignments/{assignment.id}"
    token = next(i.token for i in issued if i.partner.display_name == "Sam Rivera")

    counselor = Browser(server)
    status, page = counselor.request("/login")
    status, _ = counselor.request(
        "/login",
        {"csrf_token": _csrf(page), "email": counselor_a.email, "password": counselor_a.password},
    )
    assert status == 302
    partner = Browser(server)
    # the landing page shows a button (link previews change nothing); pressing it opens the portal
    status, landing = partner.request(f"/l/{token}")
    assert status == 200
    assert partner.request(f"/l/{token}", {"csrf_token": landing_csrf(landing)})[0] == 302
    _reset(assignment.id)
    counselor_csrf = _csrf(counselor.request(base + "/compare")[1])
    partner_csrf = portal_csrf(partner.request("/p/")[1])

    def release() -> int:
        form = {"csrf_token": counselor_csrf, "confirm": "y"}
        return counselor.request(base + "/release", form)[0]

    def reopen() -> int:
        status = partner.request("/p/reopen", {"csrf_token": partner_csrf})[0]
        if status == 302:  # reopened: try to change the answer at once
            # (not sent again: a release after a new submit is a release of new answers)
            page = partner.request("/p/s/1")[1]
            partner.request(
                "/p/autosave",
                json_body={
                    "revision": revision_of(page),
                    "answers": {"together": {"roles": {"together": "yes"}}},
                },
                headers={"X-CSRF-Token": partner_csrf},
            )
        return status

    violations: list[str] = []
    outcomes = {"release first": 0, "reopen first": 0}

    def race(release_held: int, reopen_held: int) -> str:
        """One try; which of the two got the lock first. The reopen's path to the lock is the
        shorter one: a side held back first loads a page, as the user would."""
        before = _reset(assignment.id)
        got = at_once(
            after(lambda: counselor.request(base + "/compare"), release_held, release),
            after(lambda: partner.request("/p/"), reopen_held, reopen),
        )
        assert all(status in (302, 409) for status in got), got
        released, responses = _state(assignment.id)
        if released and any(
            r.status != "submitted" or r.revision != before[r.id] for r in responses
        ):
            violations.append(
                f"{got}: released with {[(r.status, r.revision) for r in responses]}, "
                f"revisions before {sorted(before.values())}"
            )
        first = "release first" if got[0] == 302 else "reopen first"
        outcomes[first] += 1
        return first

    # TRIES tries, every other one with the reopen held back by a page load (it lets the
    # release come first in about half); then more with the side that keeps winning held
    # back, until both orders have happened (tests/support/races.py)
    alternating = [(0, n % 2) for n in range(TRIES)]
    until_both_orders(race, "release first", "reopen first", tries=alternating)

    with capsys.disabled():
        print(
            f"\nrelease vs reopen: {sum(outcomes.values())} concurrent tries on PostgreSQL, "
            f"{len(violations)} invariant violations ({outcomes})"
        )
    assert violations == [], violations[:3]
    # both orders really happened, so the lock was exercised from both sides
    assert outcomes["release first"] and outcomes["reopen first"], outcomes


def _two_devices(server: str, counselor_a):
    """(case, assignment, Sam's partner id, Sam's two devices as (browser, CSRF token)): one
    partner signed in on two devices to the race check's homework."""
    case = new_case(counselor_a)
    questionnaire, _ = load_definition(DEFINITION, counselor_a.id)
    assignment, issued = assign(
        case, questionnaire.latest, [], due_on=None, instructions=None, ttl_days=None, links=True
    )
    db.session.commit()
    sam = next(i for i in issued if i.partner.display_name == "Sam Rivera")
    token, sam_id = sam.token, sam.partner.id
    devices = []
    for _ in range(2):
        device = Browser(server)
        landing = device.request(f"/l/{token}")[1]
        assert device.request(f"/l/{token}", {"csrf_token": landing_csrf(landing)})[0] == 302
        devices.append((device, portal_csrf(device.request("/p/s/1")[1])))
    return case, assignment, sam_id, devices


def _report(capsys, doing: str, violations: list, wins: dict) -> None:
    """Print what the two devices' race found, and fail on any violation."""
    with capsys.disabled():
        print(
            f"\ntwo devices {doing} at once: {TRIES} concurrent tries on PostgreSQL, "
            f"{len(violations)} invariant violations (wins {wins})"
        )
    assert violations == [], violations[:3]


def test_two_devices_saving_the_same_revision_at_once_never_both_win(
    server, app, counselor_a, capsys
):
    """Two devices of one partner send a draft started from the same revision at the same
    moment: one is saved, the other is told its page is stale, and the stored answers are
    exactly the saved one's (saves take the assignment's lock and read the response under it)."""
    case, assignment, sam_id, devices = _two_devices(server, counselor_a)
    said = {0: "yes", 1: "no"}

    def save(n: int, revision: int):
        device, csrf = devices[n]
        body = {"revision": revision, "answers": {"together": {"roles": {"together": said[n]}}}}
        return device.request("/p/autosave", json_body=body, headers={"X-CSRF-Token": csrf})[0]

    violations, wins = [], {0: 0, 1: 0}
    for _ in range(TRIES):
        base = next(r for r in _state(assignment.id)[1] if r.partner_id == sam_id).revision
        got = at_once(*(partial(save, n, base) for n in (0, 1)))
        stored = next(r for r in _state(assignment.id)[1] if r.partner_id == sam_id)
        if sorted(got) != [200, 409]:
            violations.append(f"statuses {got}")
            continue
        winner = got.index(200)
        wins[winner] += 1
        roles = stored.answers["together"]["roles"]
        if stored.revision != base + 1 or roles != {"together": said[winner]}:
            violations.append(f"{got}: stored {roles} at {stored.revision} from {base}")
    _report(capsys, "saving", violations, wins)


def test_two_devices_sending_the_same_answers_at_once_submit_once(server, app, counselor_a, capsys):
    """Two devices of one partner send their answers at the same moment: one submit goes
    through, the other is told its page is stale, and the submit is recorded once: one
    ``portal.submit`` audit event a try (the UPDATE that marks the response sent writes it in
    the same statement), and one mail to the counselor once the worker's sweep has run (the
    submit marks its response; counselor.mail.submitted)."""
    from sqlalchemy import func

    from counselor.core.audit import AuditEvent
    from counselor.mail.models import Message

    case, assignment, sam_id, devices = _two_devices(server, counselor_a)

    def sent_so_far() -> tuple[int, int]:
        db.session.expire_all()
        events = select(func.count()).where(AuditEvent.action == "portal.submit")
        mails = select(func.count()).select_from(Message).where(Message.case_id == case.id)
        found = db.session.scalar(events), db.session.scalar(mails)
        db.session.commit()
        return found

    def send(n: int, revision: int):
        device, csrf = devices[n]
        return device.request("/p/submit", {"csrf_token": csrf, "revision": revision})[0]

    violations, wins = [], {0: 0, 1: 0}
    for _ in range(TRIES):
        db.session.expire_all()
        response = db.session.scalar(
            select(Response).where(
                Response.assignment_id == assignment.id, Response.partner_id == sam_id
            )
        )
        response.answers, response.status = SUBMITTED, "draft"  # answered, not sent
        db.session.commit()
        base, before = response.revision, sent_so_far()
        got = at_once(*(partial(send, n, base) for n in (0, 1)))
        tell_counselors()
        events, mails = sent_so_far()
        if sorted(got) != [302, 409]:
            violations.append(f"statuses {got}")
            continue
        wins[got.index(302)] += 1
        if (events, mails) != (before[0] + 1, before[1] + 1):
            violations.append(f"{got}: {events - before[0]} events, {mails - before[1]} mails")
    _report(capsys, "submitting", violations, wins)
