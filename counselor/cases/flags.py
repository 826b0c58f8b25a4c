"""Which cases may have an open flag: ``case.maybe_flagged``, so that the caseload asks the
flags of those cases only, not of every case of the counselor (``cases.caseload``).

A flag (an open alert, a clause a partner paused) is raised by a feature above cases; its
model marks the case as it inserts the flag's row (``marks_its_case``: an ORM event, so no
way of adding the row misses it), in the same transaction. A flag that closes
(an alert acknowledged, a pause lifted) clears the mark with ``settle``, only when no open
flag of the case is left, asked under the case's row lock.

The invariant: a case with an open flag is marked. A mark left on a case without a flag
(a flag's row deleted, a close that never settles) costs the caseload one case's probes; a
missing mark would hide the flag, so the mark is written unconditionally (an UPDATE of the
row, which waits for the row's lock) and cleared only under that lock: a flag raised while
a close settles either committed before the lock was granted (``settle`` sees it) or writes
its mark after the settle committed.
"""

from __future__ import annotations

import functools
import uuid

from flask import current_app
from sqlalchemy import and_, bindparam, event, exists, inspect, not_, update

from counselor.cases.models import Case
from counselor.core.locking import take_lock
from counselor.extensions import core_execute

_CASE = Case.__table__

#: the key of ``app.extensions`` that holds the caseload's ``caseload.Flags``: the page
#: that composes them registers them (``pages.routes``), as ``settle`` asks every source
FLAGS_KEY = "caseload_flags"


def _marking(case_id):
    """The statement that marks the case ``case_id`` (an expression: a parameter, or a
    subquery of the flag's parent) as maybe flagged. Its ``updated_at`` is set to itself: a
    mark is not a change of the case."""
    c = _CASE.c
    return (
        update(_CASE)
        .where(c.id == case_id)
        .values(maybe_flagged=True, updated_at=c.updated_at)
        .execution_options(synchronize_session=False)
    )


def marks_its_case(model, case_id, key: str, closed: str) -> None:
    """Mark the case of every open row of ``model`` (a flag: its attribute ``closed`` None)
    in the row's transaction, before the row is written, whether inserted open or opened
    again (``closed`` set back to None): however a flag's row is added, the caseload sees it
    lead. ``case_id`` is the case's id as an expression of the parameter ``key``, the row's
    attribute of that name (``_marking``)."""
    statement = _marking(case_id)

    def mark(mapper, connection, target) -> None:
        if getattr(target, closed) is None:
            connection.execute(statement, {key: getattr(target, key)})

    def mark_if_opened(mapper, connection, target) -> None:
        if inspect(target).attrs[closed].history.has_changes():
            mark(mapper, connection, target)

    event.listen(model, "before_insert", mark)
    event.listen(model, "before_update", mark_if_opened)


def lock(case_id: uuid.UUID) -> None:
    """The case's row lock, taken by a close of a flag before it changes anything: the
    ``settle`` after it then decides on what every flag's raise committed (and taken first,
    before any write that share-locks the case's row, so that two closes do not deadlock)."""
    take_lock(Case, case_id)


def settle(case_id: uuid.UUID) -> None:
    """After a flag of the case closed (flushed), under the case's row lock (``lock``):
    clear its mark when no open flag of it is left, in one statement. Without the caseload's
    flags registered the mark stays (a mark too many costs a little, one too few hides)."""
    flags = current_app.extensions.get(FLAGS_KEY)
    if flags is None or not flags.sources:
        return
    core_execute(_clearing(flags), {"case_id": case_id})


@functools.cache
def _clearing(flags):
    c = _CASE.c
    still_open = []
    for source in flags.sources:
        src = source.subquery()
        still_open.append(not_(exists().where(src.c[0] == bindparam("case_id"))))
    return (
        update(_CASE)
        .where(c.id == bindparam("case_id"), c.maybe_flagged, and_(*still_open))
        .values(maybe_flagged=False, updated_at=c.updated_at)
        .execution_options(synchronize_session=False)
    )


def maybe_flagged():
    """The condition on ``case`` of the cases that may have an open flag (the partial index
    ``ix_case_maybe_flagged`` serves it with the counselor's id)."""
    return _CASE.c.maybe_flagged
