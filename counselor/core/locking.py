"""One row lock held until the commit, for state changes two people can make at once.

Release and reopen of an assignment, a partner's agree and the counselor's publish of an
agreement, two tabs saving one questionnaire draft: each takes the row lock of the thing it
changes first, so that on one row they run one at a time and each decides on what the one
before it committed.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Executable, Select, bindparam, select, update

from counselor.core.sqlite_writers import wait_turn
from counselor.extensions import core_execute, db, session_connection

#: lock statements by (table, dialect, columns matched): made once, reused with parameters
_LOCKS: dict[tuple[str, str, tuple[str, ...]], Executable] = {}


def _lock_statement(table, dialect: str, columns: tuple[str, ...]) -> Executable:
    where = [table.c[name] == bindparam(f"lock_{name}") for name in ("id", *columns)]
    if dialect == "sqlite":
        # SQLite ignores FOR UPDATE: its one lock is the database's write lock, which a write
        # takes. This write changes nothing but makes the reads after it run under that lock.
        # Columns with an ``onupdate`` are set to themselves, or the write would stamp them (a
        # lock is not a change). Never the primary key: setting a parent key, even to itself,
        # makes SQLite check every child table's foreign keys for rows that name it, a scan
        # of each child table without an index on its key (a save took 0.36 ms instead of 0.03
        # with 4,000 more assignments' links and responses in the file).
        same = {c.name: c for c in table.c if c.onupdate is not None and not c.primary_key}
        if not same:
            column = next(c for c in table.c if not c.primary_key and not c.foreign_keys)
            same = {column.name: column}
        return update(table).where(*where).values(same).execution_options(synchronize_session=False)
    return select(table.c.id).where(*where).with_for_update()


def take_lock(model, row_id: uuid.UUID, **equal) -> None:
    """Take ``model``'s row lock on row ``row_id`` until the commit, reading nothing (for a
    caller that reads what it needs after it); ``equal`` narrows the row by more columns
    (``case_id=…``: no lock is taken on a row that does not match)."""
    connection = session_connection()
    dialect = connection.dialect.name
    if dialect == "sqlite" and _begin_writing(connection):
        return
    table = model.__table__
    key = (table.name, dialect, tuple(sorted(equal)))
    statement = _LOCKS.get(key)
    if statement is None:
        statement = _LOCKS[key] = _lock_statement(table, dialect, key[2])
    core_execute(statement, {"lock_id": row_id, **{f"lock_{k}": v for k, v in equal.items()}})


def _begin_writing(connection) -> bool:
    """On SQLite, open the transaction with ``BEGIN IMMEDIATE``: it takes the database's write
    lock (every other writer waits, as for the no-op write) and reads from the latest commit,
    without writing a page (the no-op write put the row's page in the log at every commit).
    False when a transaction is open already (a write or a savepoint began it): the lock is
    then the no-op write, as before."""
    sqlite = connection.connection.driver_connection
    if sqlite.in_transaction:
        return False
    wait_turn(sqlite)  # the writers' queue first (core.sqlite_writers), then SQLite's lock
    # on the driver's connection, as the driver issues its own BEGIN before a first write
    sqlite.execute("BEGIN IMMEDIATE")
    return True


def read_locked(statement: Select, parameters: dict, model, row_id: uuid.UUID, **equal):
    """Run ``statement``, a ``SELECT … FOR UPDATE OF`` ``model``'s row ``row_id`` (and of the
    joined rows whose current state matters), holding the row's lock until the commit;
    returns its result.

    On PostgreSQL it is the one statement: it waits for the row's lock, and under READ
    COMMITTED a locked row that changed while it waited is returned as it is now, not as
    the statement's snapshot saw it (rows it joins without locking them are from that
    snapshot: lock every row that can change). ``equal`` and the statement's own conditions
    narrow the row: no lock is taken on a row that does not match. On SQLite, which has no
    row locks, the write lock comes first (``take_lock``), then the read.
    """
    if not locks_in_reads():
        take_lock(model, row_id, **equal)  # SQLite in an open transaction: the no-op write
    return core_execute(statement, parameters)


def locks_in_reads() -> bool:
    """Whether a ``SELECT … FOR UPDATE`` run now in this transaction holds its rows' locks
    until the commit and reads them as they are now: always on PostgreSQL. SQLite has no row
    locks: there it is so once the transaction holds the database's write lock, which this
    takes by opening it (``BEGIN IMMEDIATE``); False when a transaction is open already."""
    connection = session_connection()
    return connection.dialect.name != "sqlite" or _begin_writing(connection)


def lock_row(model, row_id: uuid.UUID, *, query: Select | None = None, children=()) -> None:
    """Take ``model``'s row ``row_id`` with ``SELECT … FOR UPDATE`` and re-read it, and the
    rows of each ``(child_model, foreign_key_column)`` in ``children``, as they are now.

    ``populate_existing`` overwrites what this session loaded before the lock was granted (the
    rows must be fetched for that to happen). ``query`` is the statement that loads the row
    with what it brings along (default ``select(model)``); rows it joins in are read, not
    locked.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        take_lock(model, row_id)  # the write lock first: the reads below run under it
    statement = query if query is not None else select(model)
    db.session.scalars(
        statement.where(model.id == row_id)
        .with_for_update(of=model)  # only this row, not the rows a query joins in
        .execution_options(populate_existing=True)
    ).all()
    for child, key in children:
        db.session.scalars(
            select(child).where(key == row_id).execution_options(populate_existing=True)
        ).all()
