"""On PostgreSQL a transaction that wrote nothing but the audit rows of reads commits without
waiting for the write-ahead log's flush (``synchronous_commit`` off for it alone); every
transaction that wrote anything else, a change's audit row included, waits for it as before
(counselor.core.audit, ``_INSERT_READS``).

PostgreSQL only (SQLite has no such setting; README, *SQLite durability*); with
COUNSELOR_REQUIRE_SERVICES=1 these tests fail instead of skipping when PostgreSQL is not
configured.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, select, update

from counselor.cases.models import Case
from counselor.core import audit
from counselor.extensions import db
from tests.support import PG_URL, assign, new_case, open_link, service_unavailable, sync
from tests.test_cases import GOOD


@pytest.fixture
def pg(app):
    if not PG_URL or app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        service_unavailable("PostgreSQL (COUNSELOR_TEST_DATABASE_URL)")
    return app


@contextmanager
def commits():
    """Every COMMIT of the app's engine in the block that wrote something, as the setting it
    was sent with: ``"on"`` waits for the log's flush, ``"off"`` does not."""
    seen: list[str] = []

    def before_commit(conn) -> None:
        setting, wrote = conn.connection.driver_connection.execute(
            "SELECT current_setting('synchronous_commit'), "
            "pg_current_xact_id_if_assigned() IS NOT NULL"
        ).fetchone()
        if wrote:
            seen.append(setting)

    db.session.commit()
    event.listen(db.engine, "commit", before_commit)
    try:
        yield seen
    finally:
        event.remove(db.engine, "commit", before_commit)


def test_read_pages_commit_without_waiting_for_the_flush(pg, client_a, counselor_a):
    case = new_case(counselor_a, "Rivera")
    # the practice's first case page stores its consent text: a write, flushed before the
    # audit row, so that commit waits
    with commits() as seen:
        assert client_a.get(f"/cases/{case.id}").status_code == 200
    assert seen == ["on"]
    for url in ("/cases", f"/cases/{case.id}"):
        with commits() as seen:
            assert client_a.get(url).status_code == 200
        assert seen == ["off"], url


def test_a_clinical_write_waits_for_the_flush(pg, client_a, counselor_a):
    case = new_case(counselor_a, "Rivera")
    with commits() as seen:
        r = client_a.post(f"/cases/{case.id}/sessions/new", data=GOOD)
        assert r.status_code == 302
    assert seen and set(seen) == {"on"}, seen


def test_a_partners_answers_wait_for_the_flush(pg, app, counselor_a):
    sync()
    case = new_case(counselor_a)
    _assignment, tokens = assign(case, "intake")
    sam = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam")
    with commits() as seen:
        sam.autosave({"about.pronouns": "she/her"})
    assert seen == ["on"]


def _archive(case) -> None:
    """A change the ORM flushes at the commit, after the audit rows are written."""
    db.session.get(Case, case.id).status = "archived"


def _view(case) -> None:
    audit.record("case.view", "case", case.id)


def _core_change_then_view(case) -> None:
    db.session.execute(update(Case).where(Case.id == case.id).values(status="archived"))
    _view(case)


def _read_with_event(case) -> None:
    """The case page's statement, which writes its read's audit event itself."""
    from counselor.pages.case_page import _READ

    found = {"case_id": case.id, "owner_id": case.counselor_id}
    assert _READ.rows(found, "case.view", "case", case.id)


def _read_with_event_then_change(case) -> None:
    _read_with_event(case)
    _archive(case)


def _read_with_event_then_core_change(case) -> None:
    _read_with_event(case)
    db.session.execute(update(Case).where(Case.id == case.id).values(status="archived"))


def _view_in_a_savepoint_then_change(case) -> None:
    with db.session.begin_nested():
        _view(case)
    _archive(case)


@pytest.mark.parametrize(
    "work, setting",
    [
        (lambda case: (_archive(case), _view(case)), "on"),
        (_core_change_then_view, "on"),
        # a change's audit row alone (its change committed in this transaction or not)
        (lambda case: audit.record("case.update", "case", case.id), "on"),
        (_view_in_a_savepoint_then_change, "on"),
        (_view, "off"),
        (lambda case: (_core_change_then_view(case), _read_with_event(case)), "on"),
        (_read_with_event_then_change, "on"),
        (_read_with_event_then_core_change, "on"),
        (_read_with_event, "off"),
    ],
    ids=[
        "orm change",
        "core change",
        "change row",
        "savepoint",
        "read alone",
        "change, then a read with its event",
        "read with its event, then an orm change",
        "read with its event, then a core change",
        "read with its event alone",
    ],
)
def test_a_read_row_next_to_any_other_write_waits_for_the_flush(pg, counselor_a, work, setting):
    case = new_case(counselor_a, "Rivera")
    with commits() as seen:
        work(case)
        db.session.commit()
    assert seen == [setting]


def test_a_practice_can_have_read_rows_wait_for_the_flush_too(pg, app, client_a, counselor_a):
    case = new_case(counselor_a, "Rivera")
    assert client_a.get(f"/cases/{case.id}").status_code == 200  # the consent text's write
    app.config["COUNSELOR_READ_AUDIT_DURABLE"] = True
    try:
        for url in ("/cases", f"/cases/{case.id}"):
            with commits() as seen:
                assert client_a.get(url).status_code == 200
            assert seen == ["on"], url
    finally:
        app.config["COUNSELOR_READ_AUDIT_DURABLE"] = False


def _case_views(case) -> int:
    return len(
        db.session.execute(
            select(audit.AuditEvent.id).where(
                audit.AuditEvent.action == "case.view",
                audit.AuditEvent.object_id == str(case.id),
            )
        ).all()
    )


def test_a_read_with_its_event_writes_it_in_the_reads_transaction(pg, counselor_a, counselor_b):
    from counselor.pages.case_page import _READ

    case = new_case(counselor_a, "Rivera")
    db.session.commit()
    _read_with_event(case)
    db.session.rollback()  # the read's transaction ends without its commit: no event
    assert _case_views(case) == 0
    _read_with_event(case)
    db.session.commit()
    assert _case_views(case) == 1
    # another counselor's read finds no row, and writes no event
    theirs = {"case_id": case.id, "owner_id": counselor_b.id}
    assert _READ.rows(theirs, "case.view", "case", case.id) == []
    db.session.commit()
    assert _case_views(case) == 1
