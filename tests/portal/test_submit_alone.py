"""A PostgreSQL submit in two round trips (counselor.portal.submitting._submit_alone): the read
without the lock and without a transaction, then one statement, its own transaction, that
locks the assignment FOR SHARE, checks it is still open and writes the response, its audit
event and the session's touch. What it finds changed since the read, and anything that may
write after it, is decided as before, in a transaction under the assignment's lock.

The concurrent tests hold the other side's transaction open on a connection of their own
(a counselor's lock, a release, another tab's submit), send the submit from a thread, wait
until PostgreSQL shows it waiting for that transaction's lock, then end the transaction:
what the submit then does is decided on the row as the other side committed it.

PostgreSQL only (SQLite's submit is unchanged); with COUNSELOR_REQUIRE_SERVICES=1 these
tests fail instead of skipping when PostgreSQL is not configured.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select

from counselor.core.audit import AuditEvent
from counselor.core.models import to_local, utcnow
from counselor.extensions import db
from counselor.portal import services, submitting
from counselor.questionnaires import signals
from counselor.questionnaires.models import Assignment, Response
from tests.support import (
    PG_URL,
    assign,
    load_own,
    new_case,
    open_link,
    portal_csrf,
    revision_of,
    service_unavailable,
    small_alert_definition,
    sqlalchemy_url,
)
from tests.support.portal import response_of
from tests.support.races import wait_for_a_lock_wait

QUIET = {"check.feel": "fine", "check.tired": 3, "check.pushed": "no"}
#: meets the scale's alert rule (>= 7)
TIRED = {**QUIET, "check.tired": 9}


@pytest.fixture
def pg(app):
    if not PG_URL or app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        service_unavailable("PostgreSQL (COUNSELOR_TEST_DATABASE_URL)")
    return app


@pytest.fixture
def other(pg):
    """A connection of its own to the test database: the other side of a race."""
    engine = create_engine(sqlalchemy_url(PG_URL))
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def homework(pg, counselor_a):
    """(partner's browser, assignment id, partner id, the review page): Sam answered the
    small alert check and opened its review page, ready to submit."""
    load_own(counselor_a, small_alert_definition())
    case = new_case(counselor_a)
    assignment, tokens = assign(case, "alert-check", owner_id=counselor_a.id)
    browser = open_link(pg.test_client(), tokens["Sam Rivera"], name="Sam Rivera")
    browser.autosave(QUIET)
    sam = next(p for p in case.partners if p.display_name == "Sam Rivera")
    return browser, assignment.id, sam.id, browser.get("/p/review")


def _post(browser, page: str, revision: int | None = None):
    revision = revision_of(page) if revision is None else revision
    return browser.client.post(
        "/p/submit", data={"csrf_token": portal_csrf(page), "revision": revision}
    )


def _submit_events(response_id) -> int:
    db.session.expire_all()
    found = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "portal.submit", AuditEvent.object_id == str(response_id))
    )
    db.session.commit()
    return found


def _set(other, assignment_id, **values) -> None:
    with other.begin() as conn:
        conn.execute(
            Assignment.__table__.update()
            .where(Assignment.__table__.c.id == assignment_id)
            .values(**values)
        )


# ---- the common submit, and the pooled connection after it -------------------------------


def test_a_plain_submit_writes_the_response_and_its_event_together(homework):
    browser, assignment_id, sam_id, page = homework
    assert _post(browser, page).status_code == 302
    response = response_of(assignment_id, sam_id)
    assert response.status == "submitted" and response.notice_due
    assert response.revision == revision_of(page) + 1
    assert _submit_events(response.id) == 1


def test_the_pooled_connection_is_in_a_transaction_again_after_a_submit(homework):
    """The connection the submit ran its statements alone on goes back to the pool in
    transaction mode: the next request's writes can be rolled back."""
    browser, assignment_id, sam_id, page = homework
    assert _post(browser, page).status_code == 302
    db.session.remove()
    with db.engine.connect() as conn:  # the pool hands back the connection used last
        assert conn.connection.dbapi_connection.autocommit is False
        conn.execute(
            Assignment.__table__.update()
            .where(Assignment.__table__.c.id == assignment_id)
            .values(locked=True)
        )
        conn.rollback()
    assert db.session.get(Assignment, assignment_id).locked is False
    for held in db.engine.pool._pool.queue:  # every pooled connection, not only that one
        assert held.dbapi_connection.autocommit is False


def test_a_submit_that_fails_midway_leaves_no_connection_alone(homework, monkeypatch):
    browser, assignment_id, sam_id, page = homework

    def fails(*_):
        raise RuntimeError("midway")

    monkeypatch.setattr(submitting, "_may_write_after", fails)
    browser.client.application.config["PROPAGATE_EXCEPTIONS"] = False
    assert _post(browser, page).status_code == 500
    db.session.remove()
    for held in db.engine.pool._pool.queue:
        assert held.dbapi_connection.autocommit is False
    assert response_of(assignment_id, sam_id).status == "draft"


# ---- what may write after the submit: one transaction, as before -------------------------


def test_a_submit_meeting_an_alert_rule_raises_it_with_the_submit(homework):
    from counselor.alerts.models import Alert

    browser, assignment_id, sam_id, _ = homework
    browser.autosave(TIRED)
    assert _post(browser, browser.get("/p/review")).status_code == 302
    response = response_of(assignment_id, sam_id)
    assert response.status == "submitted"
    alerts = db.session.scalars(select(Alert).where(Alert.response_id == response.id)).all()
    assert [a.link_id for a in alerts] == ["check.tired"]


def test_receivers_say_whether_they_may_write(app):
    """The steps' debrief receiver writes only for answers asking to slow down; a receiver
    without a check is taken to write."""
    from counselor.questionnaires import engine

    class Sender:
        definition = engine.Definition(small_alert_definition())

    sender = Sender()
    assert not signals.submitted_may_write(sender, QUIET)
    slow = {"step.fatigue": 10}
    assert signals.submitted_may_write(sender, slow)

    def receiver(*_, **__):
        return []

    signals.homework_submitted.connect(receiver)
    try:
        assert signals.submitted_may_write(sender, QUIET)
    finally:
        signals.homework_submitted.disconnect(receiver)
    assert not signals.submitted_may_write(sender, QUIET)


# ---- refusals: today's messages ---------------------------------------------------------


def test_a_stale_revision_gets_the_stale_page(homework):
    browser, assignment_id, sam_id, page = homework
    sent = _post(browser, page, revision=revision_of(page) - 1)
    assert sent.status_code == 409
    assert "Your answers changed in another tab" in sent.get_data(as_text=True)
    assert response_of(assignment_id, sam_id).status == "draft"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"locked": True}, services.LOCKED),
        ({"released_at": "now"}, services.RELEASED),
        ({"due_on": "yesterday"}, services.DUE_PASSED),
    ],
)
@pytest.mark.parametrize("when", ["before the read", "between the read and the write"])
def test_a_closed_assignment_gets_its_reason(homework, other, monkeypatch, change, message, when):
    """Closed before the submit's read (refused on what it read), or after it, before its
    statement (which finds the assignment closed and writes nothing): the same message."""
    browser, assignment_id, sam_id, page = homework
    values = {
        key: {"now": utcnow(), "yesterday": to_local(utcnow()).date() - timedelta(days=1)}.get(
            value, value
        )
        for key, value in change.items()
    }
    if when == "before the read":
        _set(other, assignment_id, **values)
    else:
        checked = submitting._may_write_after

        def meanwhile(*args):
            _set(other, assignment_id, **values)
            return checked(*args)

        monkeypatch.setattr(submitting, "_may_write_after", meanwhile)
    sent = _post(browser, page)
    assert sent.status_code == 409
    assert message in sent.get_data(as_text=True)
    response = response_of(assignment_id, sam_id)
    assert response.status == "draft" and response.revision == revision_of(page)
    assert _submit_events(response.id) == 0


def test_a_second_submit_is_told_it_was_sent(homework):
    browser, assignment_id, sam_id, page = homework
    assert _post(browser, page).status_code == 302
    again = _post(browser, page)  # the same page sent again: a double click, another tab
    assert again.status_code == 409
    assert services.SUBMITTED in again.get_data(as_text=True)
    assert _submit_events(response_of(assignment_id, sam_id).id) == 1


# ---- real concurrency: the other side's transaction holds the lock -----------------------


def _while_held(other, hold, browser, page, commit: bool = True):
    """Send the submit while ``hold(conn)`` (run in a transaction of the other connection)
    holds its locks; end that transaction (commit or roll back) once the submit waits for
    it; the submit's response."""
    got = {}
    with other.connect() as conn:
        conn.begin()
        hold(conn)
        sender = threading.Thread(target=lambda: got.update(sent=_post(browser, page)))
        sender.start()
        try:
            wait_for_a_lock_wait(other, "the submit")
        finally:
            conn.commit() if commit else conn.rollback()
            sender.join(timeout=30)
    return got["sent"]


_A = Assignment.__table__
_R = Response.__table__


@pytest.mark.parametrize(
    ("column", "message"), [("locked", services.LOCKED), ("released_at", services.RELEASED)]
)
def test_a_submit_waiting_for_a_lock_or_release_sees_it_and_is_refused(
    homework, other, column, message
):
    """The counselor's lock or release holds the assignment FOR UPDATE (``lock_assignment``)
    and commits while the submit's statement waits for its FOR SHARE: under READ COMMITTED
    the statement reads the row as it now is, writes nothing, and the partner is told why."""
    browser, assignment_id, sam_id, page = homework
    value = True if column == "locked" else utcnow()

    def hold(conn):
        conn.execute(select(_A.c.id).where(_A.c.id == assignment_id).with_for_update())
        conn.execute(_A.update().where(_A.c.id == assignment_id).values({column: value}))

    sent = _while_held(other, hold, browser, page)
    assert sent.status_code == 409
    assert message in sent.get_data(as_text=True)
    response = response_of(assignment_id, sam_id)
    assert response.status == "draft" and response.revision == revision_of(page)
    assert _submit_events(response.id) == 0


def test_a_submit_waiting_for_a_lock_that_is_rolled_back_goes_through(homework, other):
    browser, assignment_id, sam_id, page = homework

    def hold(conn):
        conn.execute(select(_A.c.id).where(_A.c.id == assignment_id).with_for_update())
        conn.execute(_A.update().where(_A.c.id == assignment_id).values(locked=True))

    assert _while_held(other, hold, browser, page, commit=False).status_code == 302
    response = response_of(assignment_id, sam_id)
    assert response.status == "submitted"
    assert _submit_events(response.id) == 1


def test_a_submit_waiting_for_another_tabs_submit_is_told_it_was_sent(homework, other):
    """Another tab's submit (the assignment FOR SHARE, the response updated) commits while
    this one waits for the response's row: this one writes nothing and says it was sent."""
    browser, assignment_id, sam_id, page = homework
    base = revision_of(page)

    def hold(conn):
        conn.execute(select(_A.c.id).where(_A.c.id == assignment_id).with_for_update(read=True))
        conn.execute(
            _R.update()
            .where(_R.c.assignment_id == assignment_id, _R.c.partner_id == sam_id)
            .values(status="submitted", submitted_at=utcnow(), revision=base + 1)
        )

    sent = _while_held(other, hold, browser, page)
    assert sent.status_code == 409
    assert services.SUBMITTED in sent.get_data(as_text=True)
    response = response_of(assignment_id, sam_id)
    assert response.revision == base + 1
    assert _submit_events(response.id) == 0


#: tries of the submit-and-release race
TRIES = 16


def test_a_submit_and_a_release_at_once(pg, client_a, counselor_a, capsys):
    """Alex has submitted; Sam submits while the counselor releases, at the same moment
    (real concurrent requests). Either the release comes first and refuses (Sam's answers
    were not sent yet) and Sam's submit goes through, or the submit commits first and the
    release finds both sent; a submit refused is refused with the released message. Never a
    released assignment with a response changed after the release (its revision and status
    are what the release read)."""
    from tests.support.races import after, at_once, until_both_orders

    load_own(counselor_a, small_alert_definition())
    outcomes: dict[tuple, int] = {}
    violations = []

    def race(release_held: int, submit_held: int) -> str:
        case = new_case(counselor_a, "Rivera")
        assignment, tokens = assign(case, "alert-check", owner_id=counselor_a.id)
        open_link(pg.test_client(), tokens["Alex Novak"], name="Alex").answer_and_submit(QUIET)
        sam = open_link(pg.test_client(), tokens["Sam Rivera"], name="Sam")
        sam.autosave(QUIET)
        page = sam.get("/p/review")
        url = f"/cases/{case.id}/assignments/{assignment.id}"

        def release():
            return client_a.post(url + "/release", data={"confirm": "y"}).status_code

        def submit():
            sent = _post(sam, page)
            return sent.status_code, services.RELEASED in sent.get_data(as_text=True)

        got = at_once(
            after(lambda: client_a.get(url + "/compare"), release_held, release),
            after(lambda: sam.get("/p/review"), submit_held, submit),
        )
        released_status, (submitted, told_released) = got
        outcomes[(released_status, submitted)] = outcomes.get((released_status, submitted), 0) + 1
        db.session.expire_all()
        released = db.session.get(Assignment, assignment.id).released_at is not None
        statuses = sorted(
            db.session.scalars(
                select(Response.status).where(Response.assignment_id == assignment.id)
            )
        )
        db.session.commit()
        if released and statuses != ["submitted", "submitted"]:
            violations.append(f"released with {statuses} ({got})")
        if submitted != 302 and not told_released:
            violations.append(f"submit refused without the released message ({got})")
        if (released_status == 302) != released:
            violations.append(f"the release's answer and the row disagree ({got})")
        return "submit first" if released else "release first"

    seen = until_both_orders(
        race, "release first", "submit first", tries=[(0, n % 2) for n in range(TRIES)], bound=40
    )
    with capsys.disabled():
        print(f"\nsubmit vs release: {TRIES} concurrent tries, outcomes {outcomes}")
    assert violations == [], violations[:3]
    assert seen == {"release first", "submit first"}, outcomes
