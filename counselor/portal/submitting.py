"""A partner's submit: the answers sent to the counselor, with what they raise (alerts, a
debrief's pause), decided under the assignment's lock in one transaction; on PostgreSQL the
common submit, which raises nothing, is one statement committed alone (``_submit_alone``).
The rules of when answers may change are ``services``'s."""

from __future__ import annotations

from sqlalchemy import Select, bindparam, or_, select
from werkzeug.exceptions import NotFound

from counselor.alerts.services import may_raise as alerts_may_raise
from counselor.core import audit
from counselor.core.models import to_local, utcnow
from counselor.core.pool import alone, in_transactions
from counselor.core.precompiled import Precompiled
from counselor.extensions import db, session_connection
from counselor.mail import notify
from counselor.portal import session as portal_session
from counselor.portal.context import PartnerContext, assignment_context
from counselor.portal.services import (
    _RESPONSE,
    StaleRevision,
    Stopped,
    _lock_editable,
    _revision_checked,
    _stop_rules,
    _write,
    _written,
    not_editable_because,
)
from counselor.questionnaires import engine, signals
from counselor.questionnaires.models import Assignment
from counselor.reveal.services import evaluate_alerts


def submit(ctx: PartnerContext, base_revision: int) -> dict[str, str]:
    """Submit if every shown required item is answered; returns errors by link_id.

    A PostgreSQL submit read without the lock (``PartnerContext.alone``) is written by one
    statement that checks again what the read found (``_submit_alone``); when that is not
    done (a refusal, anything raised, another change first) it is decided here, in a
    transaction under the assignment's lock, as every other submit is."""
    if ctx.alone:
        if _submit_alone(ctx, base_revision):
            return {}
        ctx = locked_again(ctx)
    _lock_editable(ctx)
    response = ctx.response
    if response.revision != base_revision:
        raise StaleRevision
    defn = ctx.definition
    answers = response.answers  # opened once: every rule below reads this one mapping
    shown = engine.enabled_states(defn, answers)  # decided once, as on a page
    stop = engine.stop_for(defn, answers, shown) if defn.derived("stops", _stop_rules) else None
    if stop is not None:
        raise Stopped(stop.message)
    missing = engine.missing_required(defn, answers, shown)
    if missing:
        return missing
    if not _store_submitted(ctx):  # with its audit event and the counselor's notice due
        db.session.rollback()
        raise StaleRevision
    alerts = evaluate_alerts(ctx.assignment, response, answers=answers, shown=shown)
    sent = signals.homework_submitted.send(ctx.assignment, response=response, answers=answers)
    for _, raised in sent:
        alerts += raised or []
    # The counselor sees the alerts at once (case page, caseload flags); an urgent or review
    # one is mailed now, with this commit (rare). The "submitted" notice is the worker's:
    # the submit marks the response (``notice_due``) and counselor.mail.submitted tells them.
    notify.alerts_raised(ctx.assignment, alerts)
    return {}


#: a submit: one UPDATE made once, checking and bumping the revision as _SAVE_DRAFT does, and
#: marking the counselor's notice due (cleared by the worker's sweep that makes it)
_SUBMIT = _revision_checked(
    status="submitted",
    submitted_at=bindparam("now", type_=_RESPONSE.c.submitted_at.type),
    notice_due=True,
)


def _submit_writing(touch: bool, submit=_SUBMIT.statement) -> Select:
    """PostgreSQL: ``submit`` (``_SUBMIT``'s UPDATE) and its ``portal.submit`` audit event in
    one statement, with ``touch`` the portal session's idle bookkeeping
    (``portal_session.CARRIED_WRITE``): the submit's writes in one round trip. No row (no
    event) when another request changed the response first (the caller then rolls back, the
    touch with it, which ``portal_session.settle`` writes again)."""
    changed = submit.returning(_RESPONSE.c.id).cte("changed")
    statement = select(changed.c.id).add_cte(audit.events_for(changed).cte("event"))
    if touch:
        statement = statement.add_cte(portal_session.CARRIED_WRITE.cte("touch"))
    return statement


#: made once: the submit's statement without and with the session's touch
_SUBMIT_WRITES = {touch: Precompiled(_submit_writing(touch)) for touch in (False, True)}


def _store_submitted(ctx: PartnerContext) -> bool:
    """Mark the response submitted, and its counselor's notice due, with one Core UPDATE (the
    ORM's flush cost more than the rest of the write), with its audit event; False (and
    nothing written) when another request changed the response first.

    No mail is composed or queued here: the worker's sweep makes the counselor's mail or
    digest notice from the mark (counselor.mail.submitted). On PostgreSQL the UPDATE also
    writes the portal session's idle bookkeeping when it is due (``portal_session.to_carry``):
    the submit's writes are one statement, one round trip (``_submit_writing``)."""
    response, now = ctx.response, utcnow()
    changes = {"status": "submitted", "submitted_at": now, "notice_due": True}
    if session_connection().dialect.name != "postgresql":
        if not _write(_SUBMIT, response, changes, {"now": now}):
            return False
        audit.by_partner(ctx.partner_id, "portal.submit", "response", response.id)
        return True
    touch = portal_session.to_carry()
    parameters = {"row_id": response.id, "base": response.revision, "now": now}
    parameters.update(
        audit.partner_event_parameters(ctx.partner_id, "portal.submit", "response", response.id)
    )
    if _SUBMIT_WRITES[touch is not None].first({**parameters, **(touch or {})}) is None:
        return False
    if touch is not None:
        portal_session.carried()
    _written(response, changes)
    return True


def locked_again(ctx: PartnerContext) -> PartnerContext:
    """A homework read by a statement alone (``PartnerContext.alone``), read again in a
    transaction under the assignment's lock, as every homework POST reads it."""
    in_transactions(session_connection())
    again = assignment_context(ctx.portal, ctx.assignment.id, lock=True, plain=True)
    if again is None:  # erased meanwhile: the one 404 of anything that is not the partner's
        raise NotFound
    return again


def _submit_alone(ctx: PartnerContext, base_revision: int) -> bool:
    """PostgreSQL: the common submit in one statement alone, its own transaction committed
    as it ends (``core.pool.statements_alone``): the response marked submitted, its audit
    event and the session's touch, written together or not at all. False, and the response
    unwritten, for every other submit (``submit`` decides it under the lock, in a
    transaction, with today's messages and everything it raises written together):

    - one that the read shows refused: a stale revision, answers that cannot change (the
      reason is told after the locked read), a stop, a required answer missing;
    - one whose answers may make the rest of a submit write (``_may_write_after``): its
      alerts, a signal's receiver's rows, committed with it in one transaction;
    - one that the statement finds changed since the read: another tab's save or submit
      (the revision), a release, a lock or the due date (the assignment, ``_SUBMIT_ALONE``).
    """
    connection = session_connection()
    if not alone(connection):  # a write of the request began a transaction meanwhile
        return False
    response = ctx.response
    if response.revision != base_revision or not_editable_because(ctx) is not None:
        return False
    defn = ctx.definition
    answers = response.answers
    shown = engine.enabled_states(defn, answers)
    if defn.derived("stops", _stop_rules) and engine.stop_for(defn, answers, shown) is not None:
        return False
    if engine.missing_required(defn, answers, shown) or _may_write_after(ctx, answers, shown):
        return False
    now = utcnow()
    parameters = {
        "row_id": response.id,
        "base": response.revision,
        "now": now,
        "assignment_id": ctx.assignment.id,
        "today": to_local(now).date(),
    }
    parameters.update(
        audit.partner_event_parameters(ctx.partner_id, "portal.submit", "response", response.id)
    )
    touch = portal_session.to_carry()
    written = _SUBMIT_ALONE[touch is not None].first({**parameters, **(touch or {})})
    in_transactions(connection)  # whatever else the request runs, in a transaction as before
    if touch is not None:
        # Committed with the statement even when it wrote no response: the touch is the
        # session's bookkeeping, which today's path writes whatever the submit comes to (a
        # refused submit's ``settle`` writes it alone). Told so, the submit decided under the
        # lock next does not carry it again, nor does ``settle`` write it twice.
        portal_session.committed()
    if written is None:
        return False
    _written(response, {"status": "submitted", "submitted_at": now, "notice_due": True})
    # no receiver of ``homework_submitted`` is called: each said it does nothing for these
    # answers (``signals.writes_only_when``); sending it anyway cost 60 k instructions a
    # submit (callgrind: 3.18 -> 3.24 M), a second look-up of a debrief's answers among them
    return True


def _may_write_after(ctx: PartnerContext, answers: dict, shown: dict[str, bool]) -> bool:
    """Whether anything after a submit's write may write too (``submit``'s alerts and its
    signal's receivers): pure checks of the answers, made before the write."""
    return alerts_may_raise(ctx.definition, answers, shown) or signals.submitted_may_write(
        ctx.assignment, answers
    )


def _open_assignment():
    """The assignment of a submit alone (``assignment_id``), still open to changes: not
    released, not locked, its due date (``today``, the practice's date) not passed. Locked
    ``FOR SHARE`` (a release, a lock and a reopen take ``FOR UPDATE``: they wait for the
    submit's commit, or it for theirs, and then it reads the row as they committed it, under
    READ COMMITTED). An uncorrelated subquery: PostgreSQL runs it once, before the UPDATE
    locks the response row it filters, so the locks are taken in ``lock_assignment``'s
    order: the assignment, then its responses."""
    a = Assignment.__table__.c
    return (
        select(a.id)
        .where(
            a.id == bindparam("assignment_id", type_=a.id.type),
            a.released_at.is_(None),
            a.locked.is_(False),
            or_(a.due_on.is_(None), a.due_on >= bindparam("today", type_=a.due_on.type)),
        )
        .with_for_update(read=True)
        .scalar_subquery()
    )


#: made once, like _SUBMIT_WRITES: ``_submit_writing`` whose UPDATE also checks that the
#: assignment is still open (``_open_assignment``), a submit's one statement alone. No row
#: (nothing written but the touch) when the assignment closed or the response changed since
#: the read.
_SUBMIT_ALONE = {
    touch: Precompiled(
        _submit_writing(
            touch, _SUBMIT.statement.where(_RESPONSE.c.assignment_id == _open_assignment())
        )
    )
    for touch in (False, True)
}
