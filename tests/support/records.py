"""Cases and rows: made through the services, read back fresh from the database."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager

import psycopg
from sqlalchemy import event, select

from counselor.extensions import db


def new_case(account, label: str = "Sam & Alex", names=("Sam Rivera", "Alex Novak")):
    """A case owned by ``account`` with the given partner names, committed."""
    from counselor.auth.models import Counselor
    from counselor.cases.services import create_case

    owner = db.session.get(Counselor, account.id)
    case = create_case(owner, label, [{"display_name": n} for n in names])
    db.session.commit()
    return case


def partner_named(case, name: str):
    """The partner of ``case`` with that display name."""
    return next(p for p in case.partners if p.display_name == name)


def fresh(obj):
    """An object read again after requests changed it."""
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def fresh_row(model, **where):
    """One row read anew from the database (what the server stored, not a cached object)."""
    db.session.expire_all()
    stmt = select(model)
    for name, value in where.items():
        stmt = stmt.where(getattr(model, name) == value)
    return db.session.scalar(stmt)


@contextmanager
def counting():
    """Collect every SQL statement the engine runs inside the block."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    db.session.commit()  # nothing of the test's own session is flushed inside the block
    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


class RoundTrips:
    """The round trips the pooled PostgreSQL connections make, from libpq's trace of what they
    send: a simple query by its text, an extended one (Parse, Bind, Execute up to its Sync) by
    its statement's. A connection is traced from when it first goes back to the pool, so that
    a ping at its next checkout (which comes before any checkout event) is seen."""

    def __init__(self, log):
        self.log = log
        self.traced = []
        self.since = 0

    def trace(self, dbapi_connection, record, *proxy) -> None:
        if dbapi_connection not in self.traced:
            dbapi_connection.pgconn.trace(self.log.fileno())
            dbapi_connection.pgconn.set_trace_flags(
                psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE
            )
            self.traced.append(dbapi_connection)

    def start(self) -> None:
        """Count from here (libpq writes each message out as it sends it)."""
        self.since = os.fstat(self.log.fileno()).st_size

    def trips(self) -> list[str]:
        self.log.seek(self.since)
        trips, statement = [], ""
        for line in self.log.read().splitlines():
            sender, _length, kind, *rest = line.split("\t") + ["", "", ""]
            if sender != "F":
                continue
            if kind == "Query":
                trips.append(rest[0].strip().strip('"'))
            elif kind == "Parse":
                statement = statement or rest[0].strip().split('" "', 1)[-1]
            elif kind == "Sync":
                trips.append(statement or "a prepared statement")
                statement = ""
        return trips


@contextmanager
def round_trips():
    """A ``RoundTrips`` of the app's engine for the block (PostgreSQL only)."""
    db.session.commit()
    with tempfile.TemporaryFile("a+") as log:
        counter = RoundTrips(log)
        pool = db.engine.pool
        event.listen(pool, "checkin", counter.trace)
        event.listen(pool, "checkout", counter.trace)
        try:
            yield counter
        finally:
            event.remove(pool, "checkin", counter.trace)
            event.remove(pool, "checkout", counter.trace)
            for conn in counter.traced:
                if not conn.closed:
                    conn.pgconn.untrace()
