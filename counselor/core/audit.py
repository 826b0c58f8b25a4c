"""Append-only audit trail: who read or changed what. Never holds clinical text."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import current_app, has_app_context, has_request_context, request
from flask_login import current_user
from sqlalchemy import CTE, Index, Insert, Select, String, Update, bindparam, event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from counselor.core.models import one_of, stamped, utcnow
from counselor.core.precompiled import Precompiled
from counselor.extensions import db, session_connection

ACTOR_KINDS = ("counselor", "partner", "system", "anonymous")


class AuditEvent(db.Model):
    """One read or change; rows are never updated or deleted by the application."""

    __tablename__ = "audit_event"
    __table_args__ = (
        one_of("actor_kind", ACTOR_KINDS),
        Index("ix_audit_event_object", "object_kind", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = stamped(index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))
    #: counselor or partner id as text; empty for anonymous and system actors
    actor_id: Mapped[str] = mapped_column(String(64), default="")
    #: dotted verb such as ``case.view`` or ``auth.login_failed``
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_kind: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    #: client address of the request, for investigating abuse
    remote_addr: Mapped[str] = mapped_column(String(64), default="")


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target) -> None:  # pragma: no cover - defensive
    raise RuntimeError("audit events are append-only")


def record(
    action: str,
    object_kind: str = "",
    object_id: uuid.UUID | str | None = "",
    *,
    actor_kind: str | None = None,
    actor_id: uuid.UUID | str | None = None,
) -> None:
    """Write one audit event in the session's transaction: committed or rolled back with the
    route's work.

    The row is written when the transaction commits (``_write_pending``), not at once: on
    SQLite a transaction's first write takes the database's write lock until the commit, so a
    page that wrote its audit row first held that lock through its reads and its render, and
    the other worker's write waited in SQLite's busy handler (sleeps that grow to 100 ms a try:
    the p99 of the long pages under wrk). Written at the commit, the lock is held for the
    inserts and the commit alone. What the row promises is unchanged: it is in the same
    transaction as the read it records, so a failed page (an exception, a rollback) leaves no
    row, and a shown page's row is committed before the page leaves (every page commits before
    it returns). Rows recorded in a savepoint that is rolled back are still written: no code
    records one there."""
    if actor_kind is None:
        actor_kind, actor_id = _actor()
    session = db.session()
    pending = session.info.get(_PENDING)
    if pending is None:
        # the transaction the row belongs to begins now, if it has not (its end drops the row)
        session_connection(session)
        pending = session.info[_PENDING] = []
    pending.append(_row(action, object_kind, object_id, actor_kind, actor_id))


def _actor() -> tuple[str, uuid.UUID | None]:
    """Who acts when no one is named: the signed-in counselor, else an anonymous visitor (in
    a request) or the system."""
    if has_request_context() and getattr(current_user, "is_authenticated", False):
        return "counselor", current_user.id
    return ("anonymous" if has_request_context() else "system"), None


#: the session's audit rows waiting for its commit
_PENDING = "counselor.audit.pending"


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    """Write the transaction's audit rows, as the commit's first statement: a Core insert on
    the session's connection rather than ORM objects (every read page writes one).

    On PostgreSQL a transaction whose rows are all reads (``READS``) and that wrote nothing
    else commits without waiting for its log flush (``_INSERT_READS``). Nothing else is
    pending when the ORM has nothing to flush (the flush comes after this hook) and the commit
    is the whole transaction's, not a savepoint's (the rest of the transaction could write).
    A practice that sets ``COUNSELOR_READ_AUDIT_DURABLE`` has these commits wait too."""
    rows = session.info.pop(_PENDING, None)
    if not rows:
        return
    connection = session_connection(session)
    statement = _INSERT_ONE
    if (
        connection.dialect.name == "postgresql"
        and all(row["action"] in READS for row in rows)
        and not (session.new or session.dirty or session.deleted)
        and not session.in_nested_transaction()
        and not _durable()
    ):
        statement = _INSERT_READS
    if len(rows) > 1:
        statement.run_many(rows)
    else:
        statement.run(rows[0])


def _durable() -> bool:
    """Whether the practice has every commit of read rows wait for the log flush too."""
    return bool(has_app_context() and current_app.config.get("COUNSELOR_READ_AUDIT_DURABLE"))


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction) -> None:
    """A transaction that ends without its commit (a rollback, a close) drops its rows."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def _row(action: str, object_kind: str, object_id, actor_kind: str, actor_id) -> dict:
    # the request through the proxy's _get_current_object, as core.crypto.keyring does
    req = request._get_current_object() if has_request_context() else None
    return {
        "at": utcnow(),
        "actor_kind": actor_kind,
        "actor_id": str(actor_id or ""),
        "action": action,
        "object_kind": object_kind,
        "object_id": str(object_id or ""),
        "remote_addr": (req.remote_addr or "")[:64] if req is not None else "",
    }


_TABLE = AuditEvent.__table__
_INSERT = _TABLE.insert()
#: the columns an event is written with (the id is the database's)
_COLUMNS = [column for column in _TABLE.c if not column.primary_key]
#: ``_INSERT`` of one event (``_row``'s columns), compiled once: nearly every request writes one
_INSERT_ONE = Precompiled(_INSERT, keys=[column.key for column in _COLUMNS])

#: actions that record a read: a page or a list shown, nothing changed. A transaction that
#: writes only their rows may commit asynchronously on PostgreSQL (``_INSERT_READS``); an
#: action missing here is committed as every change is, waiting for the flush.
READS = frozenset(
    {
        "caseload.view",
        "case.view",
        "session.view",
        "assignment.view",
        "assignment.compare",
        "assignment.preview",
        "trends.view",
        "steps.view",
        "consent.view",
        "agreement.view",
        "agreement.draft_view",
        "portal.shared_view",
        "portal.agreement_view",
        "resource.view",
        "resource.list",
    }
)

#: PostgreSQL: the insert of read rows, which first turns ``synchronous_commit`` off for the
#: rest of the transaction (``set_config(…, true)`` is ``SET LOCAL``) when the transaction has
#: no transaction id yet, that is, has written nothing (no row inserted, updated, deleted or
#: locked). Its COMMIT then returns without waiting for the write-ahead log's flush to disk
#: (an fdatasync, 2.5–4 ms on the bench machine's disk): the WAL writer flushes it within
#: three ``wal_writer_delay`` (200 ms by default), and any later synchronous commit flushes it
#: with its own. A crash of the database server or of the machine in between loses these read
#: rows, never a change: a transaction that wrote anything else commits synchronously, and a
#: synchronous commit is never reported before its flush (README, *PostgreSQL durability*).
#: The check runs as the statement's one-time filter, before its row is inserted (which gives
#: the transaction its id); for several rows it is true for the first one only, which is
#: enough. It is part of the insert, not a statement of its own: no round trip more.
_ASYNC_IF_NOTHING_WRITTEN = text(
    "(SELECT count(set_config('synchronous_commit', 'off', true)) "
    "WHERE pg_current_xact_id_if_assigned() IS NULL) >= 0"
)
_INSERT_READS = Precompiled(
    _INSERT.from_select(
        _COLUMNS,
        select(*(bindparam(column.name, type_=column.type) for column in _COLUMNS)).where(
            _ASYNC_IF_NOTHING_WRITTEN
        ),
    )
)


class ReadWithEvent:
    """A page's read statement that, on PostgreSQL, writes the read's audit event itself.

    Recorded with ``record``, a page's event is an INSERT of its own at the commit: on
    PostgreSQL a statement more, with its round trip, its work in SQLAlchemy and psycopg
    and in the server. Here the page's statement carries it as a data-modifying CTE, so in
    the read's own transaction: from ``found``, one of its CTEs, which has a row when the read
    found what it reads, the event of a read that found its row only (a page that finds none
    records its denial); with no ``found``, the event of every read (a list, empty or not).
    It turns ``synchronous_commit`` off as ``_INSERT_READS`` does when the transaction has
    written nothing yet, unless ``COUNSELOR_READ_AUDIT_DURABLE`` is set or the action is not
    a read's; a statement of the transaction that writes after it turns it back on first
    (``_durable_again``), so a change still waits for the flush. SQLite, which has no
    data-modifying CTE, runs the plain statement and records the event for the commit."""

    def __init__(self, statement: Select, found: CTE | None = None):
        self.plain, self.always = Precompiled(statement), found is None
        values = [bindparam(f"event_{column.name}", type_=column.type) for column in _COLUMNS]
        carried = {}
        for durable in (False, True):
            source = select(*values)
            if found is not None:
                source = source.select_from(found)
            if not durable:
                source = source.where(_ASYNC_IF_NOTHING_WRITTEN)
            event_cte = _INSERT.from_select(_COLUMNS, source).cte(f"read_event_{durable:d}")
            carried[durable] = Precompiled(statement.add_cte(event_cte))
        self.carrying = carried

    def rows(
        self, parameters: dict, action: str, object_kind: str, object_id: uuid.UUID
    ) -> list[tuple]:
        """The statement's rows (named tuples: ``Precompiled.named``), with ``action``'s audit
        event of the current actor on ``object_id`` written in the same transaction (when
        there are any, with ``found``)."""
        connection = session_connection()
        if connection.dialect.name != "postgresql":
            rows = self.plain.named(parameters)
            if rows or self.always:
                record(action, object_kind, object_id)
            return rows
        durable = _durable() or action not in READS
        actor_kind, actor_id = _actor()
        event_row = event_parameters(
            action, object_kind, object_id, actor_kind=actor_kind, actor_id=actor_id
        )
        if not durable:  # before the statement, which may turn it off even when it finds nothing
            connection.info[_ASYNC_COMMIT] = connection.get_transaction()
        return self.carrying[durable].named({**parameters, **event_row})


#: ``Connection.info`` key: the transaction (``Connection.get_transaction``) that may have
#: turned ``synchronous_commit`` off. ``info`` is the pooled connection's and outlives the
#: transaction: a mark of a transaction that has ended (committed or rolled back, its
#: ``SET LOCAL`` gone with it) is not that of the connection's current one, and is dropped
#: when met. Keyed so, the mark needs no listener on every commit and rollback of every
#: connection (the engine's ``commit`` event, joined anew for each request's connection).
_ASYNC_COMMIT = "counselor.audit.async_commit"


@event.listens_for(Engine, "before_cursor_execute")
def _durable_again(conn, cursor, statement, parameters, context, executemany) -> None:
    """A transaction whose read event turned ``synchronous_commit`` off, and that writes
    something besides (anything but a compiled SELECT), waits for its commit's flush again:
    ``SET LOCAL`` on, before that statement."""
    marked = conn.info.get(_ASYNC_COMMIT)
    if marked is None:
        return
    if marked is not conn.get_transaction():  # an ended transaction's: nothing is off now
        conn.info.pop(_ASYNC_COMMIT)
        return
    compiled = context.compiled if context is not None else None
    if compiled is not None and isinstance(compiled.statement, Select):
        return
    conn.info.pop(_ASYNC_COMMIT)
    cursor.execute("SET LOCAL synchronous_commit = on")


def with_event(change: Update | Insert) -> Insert:
    """PostgreSQL: one statement that makes ``change`` (an ``UPDATE … RETURNING``, or an
    ``INSERT … RETURNING``) and writes one audit event for each row it changed (none when it
    changed none), with the values of ``event_parameters``: a data-modifying CTE, one round
    trip instead of two, in the same transaction. Its rowcount is the rows changed. Made
    once, like any statement."""
    statement = events_for(change.cte("changed"))
    # an INSERT's rowcount is kept only when asked for (an UPDATE's always is)
    return statement.execution_options(preserve_rowcount=True)


def events_for(changed: CTE) -> Insert:
    """The audit events of ``with_event`` for the rows of a data-modifying CTE, as an INSERT
    that a statement of the caller's own may carry as a CTE too (``Select.add_cte``)."""
    values = [bindparam(f"{_PREFIX}{column.name}", type_=column.type) for column in _COLUMNS]
    return _INSERT.from_select(_COLUMNS, select(*values).select_from(changed))


def event_parameters(
    action: str,
    object_kind: str,
    object_id: uuid.UUID | str,
    *,
    actor_kind: str,
    actor_id: uuid.UUID | str | None = None,
) -> dict:
    """The parameters of ``with_event``'s audit event (the same row as ``record``'s), named
    as ``events_for`` binds them."""
    row = _row(action, object_kind, object_id, actor_kind, actor_id)
    return {f"{_PREFIX}{name}": value for name, value in row.items()}


#: the names of an audit event's parameters in a statement that carries it (``events_for``)
_PREFIX = "event_"


def partner_event_parameters(
    partner_id: uuid.UUID | str, action: str, object_kind: str, object_id: uuid.UUID | str
) -> dict:
    """The parameters of ``with_event``'s audit event, of a partner's own doing (as
    ``by_partner``'s)."""
    return event_parameters(
        action, object_kind, object_id, actor_kind="partner", actor_id=partner_id
    )


def by_partner(
    partner_id: uuid.UUID | str,
    action: str,
    object_kind: str | None = None,
    object_id: uuid.UUID | str | None = "",
) -> None:
    """Add one audit event of a partner's own doing (through their link or home); what they
    acted on is themself unless another object is named."""
    if object_kind is None:
        object_kind, object_id = "partner", partner_id
    record(action, object_kind, object_id, actor_kind="partner", actor_id=partner_id)


def record_now(
    action: str, object_kind: str = "", object_id: uuid.UUID | str | None = "", **kw
) -> None:
    """Write one audit event in its own transaction (for denials that end in an abort)."""
    db.session.rollback()
    record(action, object_kind, object_id, **kw)
    db.session.commit()
