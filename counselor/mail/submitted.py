"""The counselor's "homework submitted" notice, made by the worker from the submit's mark.

A partner's submit writes its response (status submitted, ``notice_due`` set) and its audit
event, nothing more: composing the mail, the outbox row, its audit event and the drain's
flag were a third of the request. Beat's sweep (``sweep``, every
``COUNSELOR_NOTICE_SWEEP_SECONDS``) claims the marked responses, clears the mark and makes
for each what the submit made before, in the same transaction: the counselor's mail in the
outbox (with its ``mail.queue`` event, actor the system), a notice for their digest, or
nothing, as they chose (``notify.submitted``); the commit asks the outbox's drain for the
mails as any worker-queued mail does.

Why a submit's notice is never lost nor made twice (the argument):

- The mark is written by the submit's own UPDATE, so it commits or rolls back with the
  submit; with the worker or beat down it waits in the database for a later sweep.
- A sweep clears a mark with a conditional UPDATE (``WHERE notice_due``) and makes the
  notices in the same transaction: a sweep that fails rolls both back (the mark is due
  again), one that commits cleared it (no later sweep sees it). On PostgreSQL the claim
  locks its rows (``FOR UPDATE SKIP LOCKED``): two sweeps at once take disjoint rows, and a
  row whose mark a committed sweep cleared is re-checked and left out. SQLite has one
  writer: the second sweep's claim runs after the first one's commit.
- A submit whose transaction is still open holds its response's row lock: the sweep skips
  the row (or, on SQLite, cannot write before that commit) and takes it next time.
- A reopen clears the mark (it is no longer a submit to tell), and a claimed response that
  is not submitted is cleared without a notice; a resubmit marks it again: one notice. A
  response removed with its case has no mark left to claim.
"""

from __future__ import annotations

from sqlalchemy import select, update

from counselor.extensions import db
from counselor.mail import notify
from counselor.questionnaires.models import Assignment, Response

#: responses claimed by one statement (and told in one transaction)
BATCH = 100

_R, _A = Response.__table__, Assignment.__table__

#: the oldest marked responses, locked (PostgreSQL; another sweep's locked rows are skipped),
#: their mark cleared; the statement's rows are the ones it cleared
_CLAIM = (
    update(_R)
    .where(
        _R.c.id.in_(
            select(_R.c.id)
            .where(_R.c.notice_due)
            .order_by(_R.c.submitted_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ),
        _R.c.notice_due,  # re-checked on the row as it is once locked
    )
    .values(notice_due=False)
    .returning(_R.c.status, _R.c.assignment_id)
)


def _told_of(assignment_ids: set) -> dict:
    """The case of each assignment, with its counselor and their choices (``notify.told``)."""
    rows = db.session.execute(
        select(_A.c.id, _A.c.case_id, *notify.TOLD_COLUMNS)
        .select_from(notify.counselor_of_case(_A, _A.c.case_id))
        .where(_A.c.id.in_(assignment_ids))
    ).mappings()
    return {row["id"]: (row["case_id"], notify.told(row)) for row in rows}


def claim_and_tell() -> int:
    """Claim one batch of marked responses and make their notices, uncommitted (the caller
    commits, or rolls back to leave them due); returns how many were claimed."""
    claimed = db.session.execute(_CLAIM).all()
    submitted = [row.assignment_id for row in claimed if row.status == "submitted"]
    told = _told_of(set(submitted)) if submitted else {}
    for assignment_id in submitted:
        found = told.get(assignment_id)
        if found is not None:  # gone: its case was removed
            notify.submitted(*found)
    return len(claimed)


def sweep() -> int:
    """Tell counselors of every submit marked so far, a batch per transaction; returns how
    many responses were claimed. A failure rolls its batch back (its marks stay due for the
    next sweep) and raises."""
    total = 0
    while True:
        try:
            claimed = claim_and_tell()
            db.session.commit()  # the outbox's drain is asked for after this (services.add)
        except Exception:
            db.session.rollback()
            raise
        total += claimed
        if claimed < BATCH:
            return total
