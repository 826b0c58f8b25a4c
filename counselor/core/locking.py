"""One row lock held until the commit, for state changes two people can make at once.

Release and reopen of an assignment, a partner's agree and the counselor's publish of an
agreement, two tabs saving one questionnaire draft: each takes the row lock of the thing it
changes first, so that on one row they run one at a time and each decides on what the one
before it committed.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select, update

from counselor.extensions import db


def lock_row(model, row_id: uuid.UUID, *, query: Select | None = None, children=()) -> None:
    """Take ``model``'s row ``row_id`` with ``SELECT … FOR UPDATE`` and re-read it, and the
    rows of each ``(child_model, foreign_key_column)`` in ``children``, as they are now.

    ``populate_existing`` overwrites what this session loaded before the lock was granted (the
    rows must be fetched for that to happen). ``query`` is the statement that loads the row
    with what it brings along (default ``select(model)``); rows it joins in are read, not
    locked.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        # SQLite ignores FOR UPDATE: its one lock is the database's write lock, which a write
        # takes. This write changes nothing but makes the reads below run under that lock.
        # Columns with an ``onupdate`` are set to themselves too, or the write would stamp
        # them (a lock is not a change).
        table = model.__table__
        same = {c.name: c for c in table.c if c.primary_key or c.onupdate is not None}
        db.session.execute(
            update(table)
            .where(table.c.id == row_id)
            .values(same)
            .execution_options(synchronize_session=False)
        )
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
