"""An answer save reads its portal session and its homework in one statement, under the
assignment's row lock, and writes the draft with its audit event (in one statement on
PostgreSQL): what it decides on is what holds now, and what it skips is only round trips.

The PostgreSQL tests fail instead of skipping with COUNSELOR_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select, text, update

from counselor.core.audit import AuditEvent
from counselor.core.locking import take_lock
from counselor.core.models import utcnow
from counselor.extensions import db
from counselor.portal import services
from counselor.portal.models import PortalSessionRecord
from counselor.questionnaires.models import Assignment, Response
from tests.support import (
    PG_URL,
    assign,
    autosave,
    new_case,
    open_link,
    partner_named,
    response_of,
    section,
    service_unavailable,
    sqlalchemy_url,
    sync,
)
from tests.support.races import wait_for_a_lock_wait
from tests.support.records import round_trips


def _on(app, dialect: str) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith(dialect)


@pytest.fixture
def pg(app):
    if not PG_URL or not _on(app, "postgresql"):
        service_unavailable("PostgreSQL (COUNSELOR_TEST_DATABASE_URL)")
    return app


@pytest.fixture
def sam(app, counselor_a):
    """Sam's phone on the intake, its case and assignment."""
    sync()
    case = new_case(counselor_a)
    assignment, tokens = assign(case, "intake")
    return open_link(app.test_client(), tokens["Sam Rivera"], name="Sam"), case, assignment


def _answers_of_sam(case, assignment) -> dict:
    return response_of(assignment.id, partner_named(case, "Sam Rivera").id).answers


def _saves() -> int:
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "portal.save")
    return db.session.scalar(query)


def test_an_autosave_is_four_round_trips_on_postgresql(pg, sam):
    """BEGIN, the session with the homework under its lock, the draft with its audit event,
    COMMIT: the reference's bare save makes three (BEGIN, INSERT, COMMIT)."""
    browser = sam[0]
    _, csrf, revision = section(browser.client, 1)
    before = _saves()
    with round_trips() as counter:
        r = autosave(browser.client, csrf, revision, {"goals.main": "first words"})
        assert r.status_code == 200  # its connection goes back to the pool traced
        counter.start()
        r = autosave(browser.client, csrf, r.get_json()["revision"], {"goals.main": "more"})
        assert r.status_code == 200, r.get_data(as_text=True)
        trips = counter.trips()
    assert len(trips) == 4 and trips[0] == "BEGIN" and trips[-1] == "COMMIT", "\n".join(trips)
    # (the trace shows a statement's first line)
    assert trips[1].startswith("SELECT portal_session.") and "response.revision" in trips[1]
    assert trips[2].startswith("WITH changed AS")
    assert _saves() == before + 2  # one audit event for each save, as before


def test_a_stale_save_writes_no_audit_event_on_postgresql(pg, sam):
    browser = sam[0]
    _, csrf, revision = section(browser.client, 1)
    assert autosave(browser.client, csrf, revision, {"goals.main": "kept"}).status_code == 200
    before = _saves()
    r = autosave(browser.client, csrf, revision, {"goals.main": "from an old tab"})
    assert r.status_code == 409 and r.get_json()["stale"]
    assert _saves() == before
    assert _answers_of_sam(sam[1], sam[2])["goals.main"] == "kept"


def test_a_save_that_waited_behind_a_submit_sees_it(pg, sam):
    """The read under the lock returns the response as the transaction before it left it
    (READ COMMITTED re-reads locked rows that changed while the statement waited): the
    partner is told the answers were sent, not that another tab changed them."""
    browser, case, assignment = sam
    _, csrf, revision = section(browser.client, 1)
    engine = create_engine(sqlalchemy_url(PG_URL))
    got = {}
    try:
        with engine.connect() as other:  # a submit from another device, holding the lock
            other.execute(
                select(Assignment.id).where(Assignment.id == assignment.id).with_for_update()
            )
            other.execute(
                update(Response)
                .where(
                    Response.assignment_id == assignment.id,
                    Response.partner_id == partner_named(case, "Sam Rivera").id,
                )
                .values(status="submitted", submitted_at=utcnow(), revision=Response.revision + 1)
            )
            save = threading.Thread(
                target=lambda: got.update(
                    r=autosave(browser.client, csrf, revision, {"goals.main": "late words"})
                )
            )
            save.start()
            wait_for_a_lock_wait(engine, "the save")
            other.commit()
        save.join(timeout=30)
    finally:
        engine.dispose()
    r = got["r"]
    assert r.status_code == 409, r.get_data(as_text=True)
    assert r.get_json() == {"error": services.SUBMITTED}
    assert "goals.main" not in _answers_of_sam(case, assignment)


def test_a_save_after_a_quiet_minute_saves_and_records_that_the_session_was_used(app, sam):
    """The session's touch is committed with the save, in its transaction (a commit of its
    own would end the lock the homework was read under): both are written."""
    browser, case, assignment = sam
    _, csrf, revision = section(browser.client, 1)
    quiet = utcnow() - timedelta(minutes=2)
    db.session.execute(update(PortalSessionRecord).values(last_seen_at=quiet))
    db.session.commit()
    r = autosave(browser.client, csrf, revision, {"goals.main": "after a pause"})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["revision"] == revision + 1
    db.session.expire_all()
    seen = db.session.scalar(select(PortalSessionRecord.last_seen_at))
    assert seen.replace(tzinfo=quiet.tzinfo) > quiet + timedelta(minutes=1)
    assert _answers_of_sam(case, assignment)["goals.main"] == "after a pause"


def test_a_refused_save_after_a_quiet_minute_still_records_that_the_session_was_used(app, sam):
    """A save refused for a stale revision commits nothing of its own: the session's touch,
    left for the save's commit, is written apart (as reading the session wrote it before)."""
    browser, case, assignment = sam
    _, csrf, revision = section(browser.client, 1)
    quiet = utcnow() - timedelta(minutes=2)
    db.session.execute(update(PortalSessionRecord).values(last_seen_at=quiet))
    db.session.commit()
    r = autosave(browser.client, csrf, revision + 5, {"goals.main": "from a stale tab"})
    assert r.status_code == 409, r.get_data(as_text=True)
    db.session.expire_all()
    seen = db.session.scalar(select(PortalSessionRecord.last_seen_at))
    assert seen.replace(tzinfo=quiet.tzinfo) > quiet + timedelta(minutes=1)
    assert "goals.main" not in _answers_of_sam(case, assignment)


def test_a_save_of_another_case_s_homework_is_the_one_404_and_audited(app, sam, counselor_a):
    browser, _, _ = sam
    other, _ = assign(new_case(counselor_a, "Other"), "intake")
    _, csrf, revision = section(browser.client, 1)
    r = browser.client.post(
        f"/p/a/{other.id}/autosave",
        json={"revision": revision, "answers": {"goals.main": "x"}},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 404
    misses = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "portal.miss")
    assert db.session.scalar(misses) == 1


def test_on_sqlite_the_lock_holds_the_database_s_write_lock_until_the_commit(app, sam):
    """``BEGIN IMMEDIATE``: every other writer waits until the commit, and nothing is
    written for the lock itself."""
    if not _on(app, "sqlite"):
        pytest.skip("SQLite's lock")
    _, case, assignment = sam
    before = db.session.execute(select(Assignment.__table__)).all()
    db.session.commit()
    other = sqlite3.connect(db.engine.url.database, timeout=0)
    try:
        take_lock(Assignment, assignment.id, case_id=case.id)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("UPDATE partner SET position = position")
        db.session.commit()
        other.execute("UPDATE partner SET position = position")
        other.commit()
    finally:
        other.close()
    assert db.session.execute(select(Assignment.__table__)).all() == before


def test_on_postgresql_a_long_draft_is_stored_uncompressed_and_saved_as_a_hot_update(pg, sam):
    """A draft of a few KB of ciphertext is moved out of line as it is, never compressed
    (``RESPONSE_STORAGE``), and a save changes no indexed column: the response's row stays a
    heap-only tuple (no index entry written) on its page."""
    browser = sam[0]
    _, csrf, revision = section(browser.client, 1)
    long_text = "words that stay private " * 150  # 3,600 characters: sealed, past 2 KB
    for n in range(3):
        r = autosave(browser.client, csrf, revision, {"goals.main": f"{long_text}{n}"})
        assert r.status_code == 200, r.get_data(as_text=True)
        revision = r.get_json()["revision"]
    assert _answers_of_sam(sam[1], sam[2])["goals.main"] == f"{long_text}2"
    response_id = response_of(sam[2].id, partner_named(sam[1], "Sam Rivera").id).id
    with db.engine.begin() as conn:
        storage = conn.execute(
            text(
                "SELECT attstorage FROM pg_attribute WHERE attrelid = 'response'::regclass "
                "AND attname = 'answers_json_sealed'"
            )
        ).scalar()
        assert storage == "e"
        compression = conn.execute(
            text(
                "SELECT octet_length(answers_json_sealed), pg_column_compression("
                "answers_json_sealed) FROM response WHERE id = :id"
            ),
            {"id": response_id},
        ).one()
        assert compression[0] > 2500 and compression[1] is None
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        block, item = conn.execute(
            text(
                "SELECT (ctid::text::point)[0]::int, (ctid::text::point)[1]::int FROM response "
                "WHERE id = :id"
            ),
            {"id": response_id},
        ).one()
        # HEAP_ONLY_TUPLE (0x8000 of t_infomask2): the live version has no index entry
        heap_only = conn.execute(
            text(
                "SELECT t_infomask2 & 32768 <> 0 FROM heap_page_items(get_raw_page('response', "
                ":block)) WHERE lp = :item"
            ),
            {"block": block, "item": item},
        ).scalar()
        assert heap_only is True
