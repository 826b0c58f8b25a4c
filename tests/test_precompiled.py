"""A precompiled statement (``core.precompiled``) sends the driver what SQLAlchemy sends for the
same statement and parameters, byte for byte, and gives back the same rows, on SQLite and
PostgreSQL: the portal's statements are run both ways on the same data and compared. What
cannot be compiled once is refused when compiled; the statement counters, SQLite's writers'
queue and echo see a precompiled run; a driver's error is SQLAlchemy's error."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
from psycopg import Binary
from sqlalchemy import bindparam, event, exc, insert, select

from counselor.core import audit
from counselor.core.audit import AuditEvent
from counselor.core.models import utcnow
from counselor.core.precompiled import Precompiled
from counselor.extensions import db, session_connection
from counselor.mail import services as mail_services
from counselor.mail.compose import Mail
from counselor.mail.drain import TableFlag
from counselor.pages import case_page
from counselor.portal import context, services, submitting
from counselor.portal.models import PortalSessionRecord
from counselor.questionnaires.models import Response
from tests.support import assign, counting, fresh_row, new_case, open_link, partner_named, sync


def _sent(run) -> tuple[object, list]:
    """(what ``run`` returned, the (statement, parameters) the driver was sent), in a
    transaction rolled back after it."""
    sent = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, _comparable(parameters)))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        return run(), sent
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
        db.session.rollback()


def _comparable(parameters):
    """The parameters with psycopg's ``Binary`` wrappers (compared by identity) unwrapped."""
    if isinstance(parameters, dict):
        return {key: _comparable(value) for key, value in parameters.items()}
    if isinstance(parameters, tuple | list):
        return type(parameters)(_comparable(value) for value in parameters)
    return (type(parameters), parameters.obj) if isinstance(parameters, Binary) else parameters


def _same_both_ways(statement: Precompiled, parameters: dict, how: str) -> object:
    """Run ``statement`` through SQLAlchemy and precompiled (``how``: first, all, named, run
    or run_many), each in a transaction rolled back after it; assert both sent the same and got
    the same; the result."""

    def sqlalchemy():
        # (an INSERT's rowcount is kept only when asked for; a precompiled run always reads it)
        options = {"preserve_rowcount": True}
        connection = session_connection()
        result = connection.execute(statement.statement, parameters, execution_options=options)
        if how == "first":
            row = result.first()
            return None if row is None else dict(row._mapping)
        if how == "all":
            return [tuple(row) for row in result.all()]
        if how == "named":
            return [(tuple(row._fields), *row) for row in result.all()]
        return result.rowcount

    def precompiled():
        if how == "named":
            return [(tuple(row._fields), *row) for row in statement.named(parameters)]
        return getattr(statement, how)(parameters)

    theirs, their_sent = _sent(sqlalchemy)
    mine, my_sent = _sent(precompiled)
    assert my_sent == their_sent
    assert mine == theirs
    assert type(mine) is type(theirs)
    if isinstance(mine, dict):
        assert {k: type(v) for k, v in mine.items()} == {k: type(v) for k, v in theirs.items()}
    return mine


@pytest.fixture
def homework(app, counselor_a):
    """Sam's portal session on the intake with a saved draft: (record key, case, assignment,
    Sam's response)."""
    sync()
    case = new_case(counselor_a)
    assignment, tokens = assign(case, "intake")
    browser = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam")
    browser.autosave({"goals.main": "some words"})
    db.session.rollback()
    (key,) = db.session.scalars(select(PortalSessionRecord.sid_hash)).all()
    sam = partner_named(case, "Sam Rivera")
    response = fresh_row(Response, assignment_id=assignment.id, partner_id=sam.id)
    return key, case, assignment, response


def _postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def test_the_portal_reads_are_sent_and_read_as_sqlalchemy_does(homework):
    key, case, assignment, response = homework
    statement = context._RESOLVE_CHANGING
    for assignment_id in (assignment.id, None):
        row = _same_both_ways(
            statement, {"record_key": key, "assignment_id": assignment_id}, "first"
        )
        assert row["response_id"] == response.id and row["revision"] == response.revision
        assert row["answers_json_sealed"] == response.answers_json_sealed
    missing = {"record_key": "0" * 64, "assignment_id": assignment.id}
    assert _same_both_ways(statement, missing, "first") is None
    rows = _same_both_ways(statement, {"record_key": key, "assignment_id": None}, "all")
    assert len(rows) == 1


def test_on_postgresql_the_answer_reads_come_in_binary_with_the_same_rows(homework):
    """The reads that carry the sealed answers ask PostgreSQL for its binary format (the text
    format sent the bytes as hex, twice as long); the test above holds their rows equal to
    SQLAlchemy's, which reads the text format."""
    if not _postgresql():
        pytest.skip("PostgreSQL's result formats")
    key = homework[0]
    formats = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        result = cursor.pgresult
        formats.append({result.fformat(i) for i in range(result.nfields)})

    event.listen(db.engine, "after_cursor_execute", keep)
    try:
        statement = context._RESOLVE_CHANGING
        assert statement.first({"record_key": key, "assignment_id": None}) is not None
        db.session.rollback()
        db.session.execute(select(Response.answers_json_sealed)).all()
    finally:
        event.remove(db.engine, "after_cursor_execute", keep)
        db.session.rollback()
    assert formats == [{1}, {0}]  # binary; SQLAlchemy's own reads stay text


def test_the_portal_writes_are_sent_as_sqlalchemy_sends_them(homework):
    _, case, _, response = homework
    now = utcnow()
    sealed = Response.answers_json.seal('[]\n{"goals.main":"other"}', response.id)
    saves = {"row_id": response.id, "base": response.revision, "now": now, "sealed": sealed}
    assert _same_both_ways(services._SAVE_DRAFT, saves, "run") == 1
    assert _same_both_ways(services._SAVE_UNCHANGED, saves, "run") == 1
    assert _same_both_ways(submitting._SUBMIT, saves, "run") == 1
    stale = {**saves, "base": response.revision + 1}
    assert _same_both_ways(services._SAVE_DRAFT, stale, "run") == 0
    row = audit._row("portal.save", "response", response.id, "partner", response.partner_id)
    assert _same_both_ways(audit._INSERT_ONE, row, "run") == 1
    rows = [row, audit._row("mail.queue", "message", uuid.uuid4(), "system", None)]
    assert _same_both_ways(audit._INSERT_ONE, rows, "run_many") == 2
    mail = Mail("submitted", "Homework sent", "Sam sent their answers.")
    message = mail_services._row(mail, "a@example.org", case.id, None, case.counselor_id, None)
    assert _same_both_ways(mail_services._INSERT_ROW, message, "run") == 1
    drain_flag = TableFlag(db.engine.dialect.name)
    flag = {"now": now, "stale_before": now - timedelta(seconds=60)}
    assert _same_both_ways(drain_flag.upsert, flag, "first") == {"id": 1}
    if _postgresql():
        event = audit.event_parameters("mail.queue", "message", message["id"], actor_kind="system")
        assert _same_both_ways(mail_services._INSERT_AUDITED, {**message, **event}, "run") == 1
        event_row = audit.partner_event_parameters(
            response.partner_id, "portal.save", "response", response.id
        )
        assert _same_both_ways(services._SAVE_DRAFT_AUDITED, {**saves, **event_row}, "run") == 1
        assert _same_both_ways(services._SAVE_DRAFT_AUDITED, {**stale, **event_row}, "run") == 0
        assert _same_both_ways(audit._INSERT_READS, row, "run") == 1


def test_a_submits_one_postgresql_statement_is_sent_as_sqlalchemy_sends_it(homework):
    if not _postgresql():
        pytest.skip("PostgreSQL only: SQLite runs a submit's writes apart")
    key, case, assignment, response = homework
    now = utcnow()
    parameters = {"row_id": response.id, "base": response.revision, "now": now}
    parameters |= audit.partner_event_parameters(
        response.partner_id, "portal.submit", "response", response.id
    )
    for with_touch, statement in submitting._SUBMIT_WRITES.items():
        extra = {}
        if with_touch:
            extra |= {"touch_key": key, "touch_pin_reset": True, "touch_seen": now}
        row = _same_both_ways(statement, {**parameters, **extra}, "first")
        assert row == {"id": response.id}


def test_a_statement_is_compiled_once_per_dialect(app):
    statement = Precompiled(select(AuditEvent.id).where(AuditEvent.action == bindparam("a")))
    dialect = db.engine.dialect
    assert statement.compiled(dialect) is statement.compiled(dialect)
    assert statement.all({"a": "nothing"}) == []


def test_what_cannot_be_compiled_once_is_refused_when_compiled(app):
    table = AuditEvent.__table__
    expanding = Precompiled(select(table.c.id).where(table.c.action.in_(bindparam("actions"))))
    with pytest.raises(exc.ArgumentError, match="expanded or rendered"):
        expanding.all({"actions": ["a", "b"]})
    literal = Precompiled(select(table.c.id).limit(bindparam("n", literal_execute=True)))
    with pytest.raises(exc.ArgumentError, match="expanded or rendered"):
        literal.all({"n": 1})
    # ``at`` has a default made in Python at execution: it must be given
    defaulted = Precompiled(insert(table), keys=["actor_kind", "action"])
    with pytest.raises(exc.ArgumentError, match=r"\['at'"):
        defaulted.run({"actor_kind": "system", "action": "x"})
    streamed = Precompiled(select(table.c.id).execution_options(yield_per=10))
    with pytest.raises(exc.ArgumentError, match="yield_per"):
        streamed.all({})


def test_on_postgresql_a_run_takes_the_connections_spare_cursor(app):
    """A run on PostgreSQL takes the cursor the run before left (its rows read), never one in
    use: a run nested in another's listener gets a cursor of its own, a failed run's cursor is
    not kept, nor a cursor of a driver connection since opened again. SQLite closes each."""
    statement = Precompiled(select(AuditEvent.action).where(AuditEvent.action == bindparam("a")))
    cursors = []

    def seen(conn, cursor, statement_text, parameters, context, executemany):
        cursors.append(cursor)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        statement.all({"a": "x"})
        statement.first({"a": "x"})
        audit._INSERT_ONE.run(audit._row("spare.kept", "", "", "system", None))
        assert statement.all({"a": "spare.kept"}) == [("spare.kept",)]
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    if not _postgresql():
        assert "counselor.precompiled.spare" not in session_connection().connection.info
        db.session.rollback()
        return
    assert len({id(c) for c in cursors}) == 1 and not cursors[0].closed

    nested = []

    def inner(conn, cursor, statement_text, parameters, context, executemany):
        if not nested:
            nested.append(cursor)
            nested.append(statement.first({"a": "spare.kept"}))

    event.listen(db.engine, "before_cursor_execute", inner)
    try:
        assert statement.all({"a": "spare.kept"}) == [("spare.kept",)]
    finally:
        event.remove(db.engine, "before_cursor_execute", inner)
    assert nested[0] is cursors[0] and nested[1] == {"action": "spare.kept"}

    bad = {**audit._row("x", "", "", "system", None), "actor_kind": "not an actor"}
    with pytest.raises(exc.IntegrityError):
        audit._INSERT_ONE.run(bad)
    db.session.rollback()
    assert cursors[0].closed
    pooled = session_connection().connection
    assert statement.all({"a": "x"}) == []
    kept = pooled.info["counselor.precompiled.spare"]
    assert kept[0] is pooled.dbapi_connection and kept[1] is not cursors[0]
    pooled.info["counselor.precompiled.spare"] = (object(), kept[1])  # another connection's
    cursors.clear()
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        statement.all({"a": "x"})
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert cursors[0] is not kept[1]
    db.session.rollback()


def test_a_missing_parameter_is_an_error_before_anything_is_sent(app):
    statement = Precompiled(select(AuditEvent.id).where(AuditEvent.action == bindparam("a")))
    with counting() as statements, pytest.raises(exc.InvalidRequestError, match="'a'"):
        statement.all({})
    assert statements == []


def test_the_statement_counters_and_echo_see_a_precompiled_run(app, caplog):
    statement = Precompiled(select(AuditEvent.id).where(AuditEvent.action == bindparam("a")))
    with counting() as statements:
        statement.all({"a": "x"})
        statement.first({"a": "x"})
    assert len(statements) == 2 and statements[0].startswith("SELECT audit_event.id")
    db.session.rollback()
    db.engine.echo = True
    try:
        with caplog.at_level(logging.INFO, logger="sqlalchemy.engine.Engine"):
            statement.all({"a": "echoed"})
    finally:
        db.engine.echo = False
        db.session.rollback()
    logged = [record.getMessage() for record in caplog.records]
    assert any(m.startswith("SELECT audit_event.id") for m in logged)
    assert any("echoed" in m for m in logged)


def test_a_drivers_error_is_raised_as_sqlalchemy_raises_it(app):
    bad = {**audit._row("x", "", "", "system", None), "actor_kind": "not an actor"}
    with pytest.raises(exc.IntegrityError):
        audit._INSERT_ONE.run(bad)
    db.session.rollback()
    audit._INSERT_ONE.run(audit._row("x", "", "", "system", None))
    db.session.commit()
    assert db.session.scalar(select(AuditEvent.action)) == "x"


def test_a_precompiled_write_is_in_the_sessions_transaction(app):
    row = audit._row("kept.or.not", "", "", "system", None)
    audit._INSERT_ONE.run(row)
    db.session.rollback()
    assert db.session.scalar(select(AuditEvent.id)) is None
    audit._INSERT_ONE.run(row)
    db.session.commit()
    assert db.session.scalar(select(AuditEvent.action)) == "kept.or.not"


def test_the_sessions_connection_is_its_transactions_own(app):
    first = session_connection()
    assert first is db.session.connection() and session_connection() is first
    db.session.commit()
    second = session_connection()
    assert second is db.session.connection()
    with db.session.begin_nested():
        assert session_connection() is db.session.connection()
    db.session.rollback()
    assert session_connection() is db.session.connection()


def test_precompiled_times_come_back_as_sqlalchemys(homework):
    """SQLite keeps times as text: they come back naive, as SQLAlchemy's do (the app makes
    them aware, ``core.models.aware``); PostgreSQL's with their zone."""
    key, _, assignment, _ = homework
    row = context._RESOLVE_CHANGING.first({"record_key": key, "assignment_id": assignment.id})
    assert abs(context.aware(row["created_at"]) - utcnow()) < timedelta(minutes=5)
    assert isinstance(row["id"], uuid.UUID)


def test_the_case_pages_rows_are_read_as_sqlalchemy_reads_them(homework):
    _, case, _, _ = homework
    parameters = {"case_id": case.id, "owner_id": case.counselor_id}
    rows = _same_both_ways(case_page._READ.plain, parameters, "named")  # a row per partner
    assert len(rows) == 2 and rows[0][0] == rows[1][0]  # the same keys
    (row, *_) = case_page._READ.plain.named(parameters)
    assert row.id == case.id and row[0] == case.id
