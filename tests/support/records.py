"""Cases and rows: made through the services, read back fresh from the database."""

from __future__ import annotations

from contextlib import contextmanager

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
