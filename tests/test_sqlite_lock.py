"""SQLite's row lock is a write that changes nothing, and never a write of a parent key.

Setting a primary key, even to itself, makes SQLite look for child rows naming it in every
table whose foreign key points there: with the practice's links and responses in the file,
every save waited behind such scans (README, *Load benchmark*, the SQLite finding).
"""

from __future__ import annotations

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
