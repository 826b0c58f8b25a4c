"""SQLite's row lock is a write that changes nothing, and never a write of a parent key.

Setting a primary key, even to itself, makes SQLite look for child rows naming it in every
table whose foreign key points there: with the practice's links and responses in the file,
every save waited behind such scans (README, *Load benchmark*, the SQLite finding).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from counselor.core.locking import _lock_statement
from counselor.extensions import db
from counselor.questionnaires.models import Assignment, Response


def test_the_lock_sets_no_key_and_stamps_nothing():
    for model in (Assignment, Response):
        table = model.__table__
        sql = str(_lock_statement(table, "sqlite", ("case_id",) if model is Assignment else ()))
        set_clause = sql.split(" SET ", 1)[1].split(" WHERE ", 1)[0]
        for column in table.c:
            if column.primary_key or column.foreign_keys:
                assert f"{column.name}=" not in set_clause.replace(" ", ""), (model, sql)


def test_a_lock_leaves_the_row_as_it_was(app, counselor_a):
    from tests.support import assign, new_case, sync

    sync()
    case = new_case(counselor_a)
    assignment, _ = assign(case)
    before = db.session.execute(select(Assignment.__table__)).all()
    from counselor.core.locking import take_lock

    take_lock(Assignment, assignment.id, case_id=case.id)
    db.session.commit()
    assert db.session.execute(select(Assignment.__table__)).all() == before


def _sqlite_file_only() -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's writers' queue (PostgreSQL locks rows)")
    if db.engine.url.database in (None, "", ":memory:"):
        pytest.skip("an in-memory database has no other writer")


def _one_audit_row(conn, action: str) -> None:
    from counselor.core import audit

    conn.execute(audit._INSERT, audit._row(action, "test", "", "system", ""))


def test_a_writer_waits_its_turn_in_the_queue_not_in_sqlites_busy_handler(app):
    """The second writer asks SQLite for nothing until the first has committed: with SQLite's
    busy timeout at 0 it would be refused at once (counselor.core.sqlite_writers)."""
    import threading

    from sqlalchemy import exc, func

    from counselor.core.audit import AuditEvent

    _sqlite_file_only()
    engine, started, outcome = db.engine, threading.Event(), {}

    def second_writer() -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA busy_timeout = 0")
            started.set()
            try:
                _one_audit_row(conn, "test.second")
                conn.commit()
                outcome["ok"] = True
            except exc.OperationalError as error:
                outcome["error"] = str(error)

    with db.engine.connect() as first:
        _one_audit_row(first, "test.first")  # holds SQLite's write lock until its commit
        thread = threading.Thread(target=second_writer)
        thread.start()
        assert started.wait(10)
        # without the queue the second writer is refused at once; with it, it waits
        thread.join(0.5)
        first.commit()
    thread.join(10)
    assert outcome == {"ok": True}, outcome
    count = db.session.scalar(
        select(func.count()).where(AuditEvent.action.in_(("test.first", "test.second")))
    )
    assert count == 2


def test_a_thread_writing_through_two_connections_meets_sqlites_lock_not_itself(app):
    """A thread holding the queue through one connection does not queue behind itself on
    another: that write gets SQLite's busy timeout, as before the queue."""
    from sqlalchemy import exc

    _sqlite_file_only()
    with db.engine.connect() as first, db.engine.connect() as second:
        _one_audit_row(first, "test.first")
        second.exec_driver_sql("PRAGMA busy_timeout = 50")
        with pytest.raises(exc.OperationalError, match="locked"):
            _one_audit_row(second, "test.second")
        first.rollback()
