"""Counselor pages, the autosave and the submit run a small, fixed number of SQL statements.

A page commits its audit event before it renders; the session keeps what the view loaded
across that commit, so no template re-reads a case, a partner or a session row by row.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from counselor.auth.models import Counselor
from counselor.cases.services import create_case, save_session
from counselor.core.models import utcnow
from counselor.extensions import db
from counselor.questionnaires.engine import ANSWERABLE, walk
from tests.support import (
    INVENTORY,
    assign,
    counting,
    inventory_answers,
    load_own,
    new_case,
    open_link,
    portal_csrf,
    revision_of,
    small_alert_definition,
    submitted,
    sync,
)
from tests.support.mail import tell_counselors

#: the caseload: login session with its counselor; the page's cases with their partners,
#: their flags (open alerts, paused clauses) and the count of all (one statement), which on
#: PostgreSQL writes the read's audit event too (``audit.ReadWithEvent``); on SQLite the
#: audit event
CASELOAD_STATEMENTS = {"postgresql": 2, "sqlite": 3}
#: a search of the caseload: login session; every case of the counselor (to decrypt and
#: match); audit
CASELOAD_SEARCH_STATEMENTS = 3
#: a page number past the last page (an old link): the count alone, then the last page
PAST_THE_END = 2
#: the case page of a case with nothing in its panels: login session; the case with its
#: partners, their homes, the relationship map, each partner's consent, its sessions and its
#: homework (each an aggregated column) and which other panels have rows (one read, whatever
#: the number of partners, sessions or assignments), which on PostgreSQL writes the read's
#: audit event too (``audit.ReadWithEvent``); on SQLite the audit event. The template reads
#: nothing: every statement runs before the view commits.
CASE_PAGE_STATEMENTS = {"postgresql": 2, "sqlite": 3}
#: what each panel adds once the case has rows for it, however many: homework nothing (it
#: comes with the case), exports, agreements (with their versions and pauses; then their
#: members with their answers), steps (the counts by status), check-in schedules (with their
#: members and questionnaire titles)
PANEL_STATEMENTS = {"homework": 0, "exports": 1, "agreements": 2, "steps": 1, "checkins": 1}
#: a session page: login session, case, session, audit, exports of the session, partners
SESSION_PAGE_STATEMENTS = 6
#: an autosave, by database: the portal session with its partner's case, home and the link
#: that opened it, and the assignment the URL names with the partner's response and the
#: version's id, in one read of plain columns under the assignment's row lock (PostgreSQL:
#: ``FOR UPDATE OF`` the assignment and the response; SQLite: its write lock first, taken by
#: ``BEGIN IMMEDIATE``, which like PostgreSQL's BEGIN is not counted); the draft's update with
#: its audit event (one statement on PostgreSQL, a data-modifying CTE; two on SQLite)
AUTOSAVE_STATEMENTS = {"postgresql": 2, "sqlite": 3}
#: a submit whose answers meet no alert rule, by database: the portal session (one read, as
#: autosave's, with the assignment, response, version and questionnaire under the
#: assignment's row lock; on PostgreSQL without the lock, no transaction open); the UPDATE
#: that marks the response sent and its counselor's notice due, which on PostgreSQL also
#: writes its audit event and checks and locks the assignment (a data-modifying CTE, one
#: statement committed alone: counselor.portal.submitting._submit_alone); SQLite: the audit
#: row apart. No mail, outbox row or drain flag: the worker's sweep tells the counselor
#: (counselor.mail.submitted)
SUBMIT_STATEMENTS = {"postgresql": 2, "sqlite": 3}
#: PostgreSQL: a submit whose answers may make it write more (an alert rule met) is read again
#: under the assignment's lock, in a transaction: one read more
SUBMIT_READ_AGAIN = {"postgresql": 1, "sqlite": 0}
#: what a met alert rule adds: the alerts the response raised before (read only now), the
#: mark of its case as maybe flagged (counselor.cases.flags: the caseload asks the flags of
#: marked cases only), the alert, the counselor with their choices, and the alert's own mail
#: (its outbox row) with the outbox drain's flag where it lives in the database (the
#: embedded broker's, counselor.mail.drain; with Redis it is a Redis key: one statement
#: fewer); on PostgreSQL the alert's audit event (SQLite writes it with the others at the
#: commit)
ALERT_STATEMENTS = {"postgresql": 7, "sqlite": 6}
#: a section of a partner's preview: login session; its head as plain rows, as the
#: comparison's (the assignment with its case, version, assigned partners, their responses'
#: status and the relationship map, one read); the answers, sealed; audit. The same for a
#: couple and for six partners, and no ORM object is loaded
COMPARISON_PART_STATEMENTS = 4
#: the first page of a long preview (the sections with shared items and their counts): its
#: outline is kept per process once everyone has submitted, so no answer is read
PREVIEW_CONTENTS_STATEMENTS = 3
#: a section page of a long comparison: login session; its head as plain rows (the
#: assignment with its case, version, assigned partners, their responses' status and the
#: relationship map, one read); the answers; audit. No ORM object is loaded
COMPARISON_SECTION_STATEMENTS = 4


def _add_cases(account, count: int, start: int = 0) -> None:
    owner = db.session.get(Counselor, account.id)
    for n in range(start, start + count):
        create_case(
            owner,
            f"Case {n:04d}",
            [{"display_name": f"Partner {n}a"}, {"display_name": f"Partner {n}b"}],
        )
    db.session.commit()


def _statements(client, url: str) -> list[str]:
    client.get(url)  # warm-up: anything cached per process is loaded once
    with counting() as statements:
        r = client.get(url)
    assert r.status_code == 200
    return statements


@pytest.mark.parametrize("url", ["/cases", "/cases?q=partner+1", "/cases?status=all&page=2"])
def test_caseload_statement_count_does_not_grow_with_the_caseload(app, client_a, counselor_a, url):
    _add_cases(counselor_a, 3)
    few = _statements(client_a, url)
    _add_cases(counselor_a, 117, start=3)
    many = _statements(client_a, url)
    print(f"\ncaseload {url}: {len(few)} statements for 3 cases, {len(many)} for 120")
    expected = (
        CASELOAD_SEARCH_STATEMENTS if "q=" in url else CASELOAD_STATEMENTS[db.engine.dialect.name]
    )
    assert len(many) == expected, "\n".join(many)
    # 3 cases have no second page: the page asked for is past the end, which costs the
    # same two statements more at any size, never one per case
    extra = PAST_THE_END if "page=2" in url else 0
    assert len(few) == len(many) + extra, "\n".join(few)


@pytest.mark.parametrize("status", ["active", "archived", "all"])
@pytest.mark.parametrize("page", [True, False])
def test_caseload_statement_fits_psycopg_statement_cache(app, status, page):
    # psycopg parses a statement's placeholders on every execution once it is longer than
    # its cache takes (or has more parameters): the page's constants are SQL text, not
    # parameters, so the statement stays under the limit with its flags
    from psycopg import _queries
    from sqlalchemy.dialects import postgresql

    from counselor.cases.caseload import _caseload_statement, _page_with_event
    from counselor.pages.read_models import CASELOAD_FLAGS

    dialect = postgresql.psycopg.dialect()
    statements = [_caseload_statement(status, CASELOAD_FLAGS, page)]
    if page:
        # on PostgreSQL the page runs with its read's audit event (``audit.ReadWithEvent``),
        # synchronous commit turned off or not: each of those forms must fit too
        with_event = _page_with_event(status, CASELOAD_FLAGS)
        statements += [form.statement for form in with_event.carrying.values()]
    for statement in statements:
        compiled = statement.compile(dialect=dialect)
        assert len(str(compiled).encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH
        assert len(compiled.params) <= _queries.MAX_CACHED_STATEMENT_PARAMS
        assert "POSTCOMPILE" not in str(compiled)  # nothing rendered into it on each execution


def test_case_page_reads_each_row_once(app, client_a, counselor_a):
    from counselor.cases.homes import issue_home_link

    case = new_case(counselor_a, names=("Sam Rivera", "Alex Novak", "Kai Moss"))
    issue_home_link(case.partners[1])
    for day in range(12):
        start = utcnow() - timedelta(days=day)
        save_session(
            case,
            {
                "date": start.date(),
                "time": start.time(),
                "duration_minutes": 50,
                "agenda": f"Agenda {day} <b>&" if day % 3 else None,
                "notes": f"Private note {day}",
                "next_steps": f"Step {day}" if day % 2 else None,
            },
        )
    db.session.commit()

    url = f"/cases/{case.id}"
    client_a.get(url)  # warm-up
    with counting() as statements:

        def committed(conn):
            statements.append("COMMIT")

        event.listen(db.engine, "commit", committed)
        try:
            assert client_a.get(url).status_code == 200
        finally:
            event.remove(db.engine, "commit", committed)
    print(f"\ncase page: {len(statements)} statements for a case with 12 sessions")
    # the view commits its audit row, then renders: the template reads nothing
    assert statements[-1] == "COMMIT", "\n".join(statements)
    assert len(statements) - 1 == CASE_PAGE_STATEMENTS[db.engine.dialect.name], "\n".join(
        statements
    )
    # the sessions come with the case: newest first, agenda and next steps escaped, and
    # never the private notes
    page = client_a.get(url).get_data(as_text=True)
    shown = [page.index(f"Agenda {day} &lt;b&gt;&amp;") for day in (1, 2, 4, 5, 7, 8, 10, 11)]
    assert shown == sorted(shown)
    assert page.count("Agenda ") == 8 and "<b>&" not in page
    assert page.count("Next steps:</span> Step ") == 6 and "Private note" not in page


def test_case_page_reads_homework_with_the_case(app, client_a, counselor_a):
    sync()
    case = new_case(counselor_a)
    assign(case, "intake", partners=case.partners[1:])
    one = _statements(client_a, f"/cases/{case.id}")
    for _ in range(3):
        assign(case, "intake")
    many = _statements(client_a, f"/cases/{case.id}")
    print(f"\ncase page: {len(one)} statements with 1 assignment, {len(many)} with 4")
    assert (
        len(many)
        == len(one)
        == CASE_PAGE_STATEMENTS[db.engine.dialect.name] + PANEL_STATEMENTS["homework"]
    ), "\n".join(many)
    # each assignment lists its assigned partners in the case's order, with their status
    page = client_a.get(f"/cases/{case.id}").get_data(as_text=True)
    homework = page[page.index('id="homework-h"') :]
    assert homework.count("Sam Rivera: Not opened") == 3
    assert homework.count("Alex Novak: Not opened") == 4
    assert homework.index("Sam Rivera: Not opened") < homework.index("Alex Novak: Not opened")


def test_case_page_reads_agreements_in_a_fixed_number_of_statements(app, client_a, counselor_a):
    from counselor.agreements import queries, services
    from tests.support.agreements import agree_all, published_agreement

    case = new_case(counselor_a)
    first = published_agreement(case)
    agree_all(first)
    services.pause(first, case.partners[0], queries.in_force(first).clauses[0]["key"])
    db.session.commit()
    one = _statements(client_a, f"/cases/{case.id}")
    for _ in range(3):
        agree_all(published_agreement(case))
    many = _statements(client_a, f"/cases/{case.id}")
    print(f"\ncase page: {len(one)} statements with 1 agreement, {len(many)} with 4")
    assert (
        len(many)
        == len(one)
        == CASE_PAGE_STATEMENTS[db.engine.dialect.name] + PANEL_STATEMENTS["agreements"]
    ), "\n".join(many)


def test_case_page_reads_schedules_in_a_fixed_number_of_statements(app, client_a, counselor_a):
    from tests.support.checkins import weekly

    case = new_case(counselor_a)
    weekly(case)
    one = _statements(client_a, f"/cases/{case.id}")
    for _ in range(4):
        weekly(case, every=3, unit="days")
    many = _statements(client_a, f"/cases/{case.id}")
    print(f"\ncase page: {len(one)} statements with 1 schedule, {len(many)} with 5")
    assert (
        len(many)
        == len(one)
        == CASE_PAGE_STATEMENTS[db.engine.dialect.name] + PANEL_STATEMENTS["checkins"]
    ), "\n".join(many)


def test_case_page_reads_each_panel_in_a_fixed_number_of_statements(app, client_a, counselor_a):
    from counselor.reports.services import request_export
    from counselor.steps import services as steps
    from tests.support.checkins import weekly
    from tests.support.steps import ladder_case

    lc = ladder_case(counselor_a)  # an agreement in force, a ladder of three steps
    case = lc.case
    session = save_session(
        case, {"date": utcnow().date(), "time": utcnow().time(), "duration_minutes": 50}
    )
    request_export(case, "handout", session, lc.alex.id)
    assign(case, "intake")
    weekly(case)
    db.session.commit()
    url = f"/cases/{case.id}"
    one = _statements(client_a, url)
    steps.add_step(lc.ladder, "A fourth step", "Short")
    request_export(case, "case_record", None, None)
    assign(case, "intake")
    weekly(case, every=3, unit="days")
    db.session.commit()
    many = _statements(client_a, url)
    every_panel = CASE_PAGE_STATEMENTS[db.engine.dialect.name] + sum(PANEL_STATEMENTS.values())
    print(f"\ncase page: {len(one)} statements with every panel, {len(many)} with more rows")
    assert len(many) == len(one) == every_panel, "\n".join(many)
    page = client_a.get(url).get_data(as_text=True)
    assert "0 of 4 steps done or skipped" in page
    assert "Client handout for Alex Novak" in page
    assert page.count("Schedule check-ins") == 1 and page.count("schedule-active") == 2


def test_session_page_reads_each_row_once(app, client_a, counselor_a):
    case = new_case(counselor_a)
    start = utcnow()
    session = save_session(
        case,
        {"date": start.date(), "time": start.time(), "duration_minutes": 50, "notes": "Private"},
    )
    db.session.commit()
    statements = _statements(client_a, f"/cases/{case.id}/sessions/{session.id}")
    print(f"\nsession page: {len(statements)} statements")
    assert len(statements) <= SESSION_PAGE_STATEMENTS, "\n".join(statements)


def test_autosave_runs_a_fixed_handful_of_statements(app, counselor_a):
    sync()
    case = new_case(counselor_a)
    _, tokens = assign(case, "intake")
    browser = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam Rivera")
    page = browser.get("/p/s/1")
    csrf, revision = portal_csrf(page), revision_of(page)
    counts = []
    for n in range(2):
        with counting() as statements:
            r = browser.client.post(
                "/p/autosave",
                data=json.dumps({"revision": revision, "answers": {"goals.main": f"words {n}"}}),
                content_type="application/json",
                headers={"X-CSRF-Token": csrf},
            )
        assert r.status_code == 200, r.get_data(as_text=True)
        revision = r.get_json()["revision"]
        counts.append(statements)
    print(f"\nautosave: {[len(s) for s in counts]} statements")
    expected = AUTOSAVE_STATEMENTS[db.engine.dialect.name]
    for statements in counts:
        assert len(statements) <= expected, "\n".join(statements)
        if db.engine.dialect.name == "postgresql":
            read, write = statements
            assert read.rstrip().endswith("FOR UPDATE OF assignment, response"), read
            assert write.startswith("WITH changed AS") and "INSERT INTO audit_event" in write


@pytest.mark.parametrize("tired,alerts", [(3, 0), (8, 1)])
def test_submit_runs_a_fixed_handful_of_statements(app, counselor_a, tired, alerts):
    from sqlalchemy import func, select

    from counselor.alerts.models import Alert
    from counselor.core.audit import AuditEvent
    from counselor.mail.models import Message

    load_own(counselor_a, small_alert_definition())  # a scale alert at 7 and more
    case = new_case(counselor_a)
    _, tokens = assign(case, "alert-check", owner_id=counselor_a.id)
    browser = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam Rivera")
    browser.autosave({"check.feel": "fine", "check.tired": tired, "check.pushed": "no"})
    page = browser.get("/p/review")  # anything cached per process is loaded by now
    with counting() as statements:
        r = browser.client.post(
            "/p/submit", data={"csrf_token": portal_csrf(page), "revision": revision_of(page)}
        )
    assert r.status_code == 302, r.get_data(as_text=True)
    print(f"\nsubmit raising {alerts} alert(s): {len(statements)} statements")
    dialect = db.engine.dialect.name
    expected = SUBMIT_STATEMENTS[dialect] + alerts * ALERT_STATEMENTS[dialect]
    expected += SUBMIT_READ_AGAIN[dialect] if alerts else 0
    assert len(statements) <= expected, "\n".join(statements)
    if dialect == "postgresql":
        # the submit's UPDATE carries its audit event (and no mail), as an alert's INSERT
        # carries its own; an alert's mail is an INSERT with its audit event
        changes = [s for s in statements if s.startswith("WITH changed AS")]
        assert len(changes) == 1 + alerts, "\n".join(statements)
        assert all("INSERT INTO audit_event" in s for s in changes)
        assert "UPDATE response" in changes[0] and "INSERT INTO message" not in changes[0]
    assert sum("INSERT INTO message" in s for s in statements) == alerts
    if not alerts:  # nothing for the outbox's drain either
        assert not any("mail_drain" in s for s in statements), "\n".join(statements)
    # fewer statements, the same work: the alert raised, the counselor told of the alert now
    # and of the submit by the worker's sweep
    raised = select(func.count()).select_from(Alert).where(Alert.case_id == case.id)
    assert db.session.scalar(raised) == alerts
    mails = select(func.count()).select_from(Message).where(Message.case_id == case.id)
    assert db.session.scalar(mails) == alerts
    tell_counselors()
    assert db.session.scalar(mails) == 1 + alerts
    # and every audit event: the submit's, and each mail's in the outbox
    events = select(AuditEvent.action, func.count()).group_by(AuditEvent.action)
    counts = dict(db.session.execute(events).all())
    assert counts.get("portal.submit") == 1
    assert counts.get("mail.queue") == 1 + alerts


def _review_after_a_quiet_minute(app, counselor_a):
    """(a partner's browser, their review page with every answer given, when their portal
    session was last seen: two minutes before now, so the next request touches it)."""
    from sqlalchemy import update

    from counselor.portal.models import PortalSessionRecord

    load_own(counselor_a, small_alert_definition())
    case = new_case(counselor_a)
    _, tokens = assign(case, "alert-check", owner_id=counselor_a.id)
    browser = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam Rivera")
    browser.autosave({"check.feel": "fine", "check.tired": 3, "check.pushed": "no"})
    page = browser.get("/p/review")
    quiet = utcnow() - timedelta(minutes=2)
    db.session.execute(update(PortalSessionRecord).values(last_seen_at=quiet))
    db.session.commit()
    return browser, page, quiet


def test_a_submit_after_a_quiet_minute_writes_the_session_s_touch_with_its_own_work(
    app, counselor_a
):
    """The portal session's touch (written at most once a minute) rides on the submit's own
    transaction: one UPDATE more than a submit right after a save, and no commit of its own
    that would end the assignment's lock and have the homework read again under a new one."""
    from sqlalchemy import func, select

    from counselor.portal.models import PortalSessionRecord
    from counselor.questionnaires.models import Response

    browser, page, quiet = _review_after_a_quiet_minute(app, counselor_a)
    with counting() as statements:
        r = browser.client.post(
            "/p/submit", data={"csrf_token": portal_csrf(page), "revision": revision_of(page)}
        )
    assert r.status_code == 302, r.get_data(as_text=True)
    dialect = db.engine.dialect.name
    touches = [s for s in statements if "UPDATE portal_session" in s]
    assert len(touches) == 1, "\n".join(statements)
    if dialect == "postgresql":
        # carried by the submit's own statement: no statement more than after a save
        assert touches[0].startswith("WITH changed AS"), touches[0]
        assert len(statements) <= SUBMIT_STATEMENTS[dialect], "\n".join(statements)
    else:
        assert len(statements) <= SUBMIT_STATEMENTS[dialect] + 1, "\n".join(statements)
    db.session.expire_all()
    seen = db.session.scalar(select(PortalSessionRecord.last_seen_at))
    assert seen.replace(tzinfo=quiet.tzinfo) > quiet + timedelta(minutes=1)
    sent = select(func.count()).select_from(Response).where(Response.status == "submitted")
    assert db.session.scalar(sent) == 1


def test_a_refused_submit_after_a_quiet_minute_still_records_that_the_session_was_used(
    app, counselor_a
):
    """A submit refused for a stale revision commits nothing of its own: the session's touch,
    left for the submit's statement, is written apart, and nothing is sent."""
    from sqlalchemy import func, select

    from counselor.mail.models import Message
    from counselor.portal.models import PortalSessionRecord
    from counselor.questionnaires.models import Response

    browser, page, quiet = _review_after_a_quiet_minute(app, counselor_a)
    r = browser.client.post(
        "/p/submit", data={"csrf_token": portal_csrf(page), "revision": revision_of(page) - 1}
    )
    assert r.status_code == 409, r.get_data(as_text=True)
    db.session.expire_all()
    seen = db.session.scalar(select(PortalSessionRecord.last_seen_at))
    assert seen.replace(tzinfo=quiet.tzinfo) > quiet + timedelta(minutes=1)
    sent = select(func.count()).select_from(Response).where(Response.status == "submitted")
    assert db.session.scalar(sent) == 0
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0


def test_a_comparison_section_and_a_preview_read_a_fixed_handful_of_statements(
    app, client_a, counselor_a
):
    """The largest section of the inventory's comparison and a partner's preview, for a
    couple and for six partners: the same few statements, whatever the number of partners."""
    sync()
    counts = {}
    for size in (2, 6):
        names = ("Ana", "Ben", "Cas", "Dee", "Eli", "Fay")[:size]
        case = new_case(counselor_a, f"Inventory {size}", names)
        assignment = submitted(app, case, INVENTORY, inventory_answers())
        defn = assignment.definition
        largest = max(
            defn.sections, key=lambda s: sum(1 for i in walk(s.items) if i["type"] in ANSWERABLE)
        )
        base = f"/cases/{case.id}/assignments/{assignment.id}"
        preview = f"{base}/partners/{case.partners[0].id}/preview"
        # a long preview is a section at a time, as the partner's page: its last section too
        sections = re.findall(
            r"preview\?section=(\d+)", client_a.get(preview).get_data(as_text=True)
        )
        assert sections, "the inventory's preview is paged"
        for page, url in (
            ("section", f"{base}/compare?section={largest.index + 1}"),
            ("preview", preview),
            ("preview section", f"{preview}?section={sections[-1]}"),
        ):
            statements = _statements(client_a, url)
            counts[page, size] = len(statements)
            expected = {
                "section": COMPARISON_SECTION_STATEMENTS,
                "preview": PREVIEW_CONTENTS_STATEMENTS,
                "preview section": COMPARISON_PART_STATEMENTS,
            }[page]
            assert len(statements) == expected, "\n".join(statements)
    print(f"\ncomparison section and preview pages: {counts} statements")


#: the first page of a long comparison (its overview): login session; its head as plain rows
#: (the assignment with its case, version, assigned partners, their responses' status and the
#: relationship map, whatever the number of partners); audit; the open alerts its release form
#: names (none once released). No answer is read: the summary is kept per process.
OVERVIEW_STATEMENTS = 4


def test_a_comparison_overview_reads_a_fixed_handful_of_statements_and_no_answer(
    app, client_a, counselor_a
):
    """The overview of the inventory's comparison, for a couple and for six partners, with
    open alerts on its release form and once released: the same few statements, and not one
    of them reads the answers."""
    from counselor.alerts.models import Alert

    sync()
    for size in (2, 6):
        names = ("Ana", "Ben", "Cas", "Dee", "Eli", "Fay")[:size]
        case = new_case(counselor_a, f"Overview {size}", names)
        assignment = submitted(app, case, INVENTORY, inventory_answers())
        url = f"/cases/{case.id}/assignments/{assignment.id}/compare"
        for n, response in enumerate(assignment.responses[:2]):
            db.session.add(
                Alert(
                    case_id=case.id,
                    assignment_id=assignment.id,
                    response_id=response.id,
                    partner_id=response.partner_id,
                    link_id=f"item-{n}",
                    severity="urgent",
                )
            )
        db.session.commit()
        statements = _statements(client_a, url)
        assert len(statements) == OVERVIEW_STATEMENTS, "\n".join(statements)
        assert not any("answers_json" in s for s in statements), "\n".join(statements)
        page = client_a.get(url).get_data(as_text=True)
        assert 'id="sections-h"' in page and page.count('name="alert_id"') == 2
        alert_ids = [str(a.id) for a in db.session.scalars(db.select(Alert))]
        r = client_a.post(
            f"/cases/{case.id}/assignments/{assignment.id}/release",
            data={"confirm": "y", "confirm_alerts": "y", "alert_id": alert_ids},
        )
        assert r.status_code == 302
        statements = _statements(client_a, url)
        assert len(statements) == OVERVIEW_STATEMENTS - 1, "\n".join(statements)
        assert not any("answers_json" in s for s in statements)
        db.session.execute(db.delete(Alert))  # the next case's page names only its own
        db.session.commit()
