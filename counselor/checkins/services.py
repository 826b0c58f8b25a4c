"""Schedules: creating, pausing, resuming and ending them, and beat's job that makes each
occurrence once. Functions flush; routes (and the task) commit."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from counselor.cases.models import Case
from counselor.cases.services import get_in_case_or_404
from counselor.checkins import cadence
from counselor.checkins.models import Occurrence, Schedule, SchedulePartner
from counselor.core import audit
from counselor.core.locking import lock_row
from counselor.core.models import day_text, to_local, utcnow
from counselor.extensions import db
from counselor.questionnaires.models import Questionnaire
from counselor.questionnaires.services import AssignmentError, assign

log = logging.getLogger(__name__)


class ScheduleError(ValueError):
    """A schedule cannot be made or changed like this; the message says why."""


def today(now: datetime | None = None) -> date:
    """The practice's today (schedules fall on the practice's days)."""
    return to_local(now or utcnow()).date()


def _gap(s: Schedule):
    return cadence.period(s.every, s.unit)


def create(
    case: Case,
    questionnaire: Questionnaire,
    partner_ids: list[uuid.UUID],
    *,
    every: int,
    unit: str,
    starts_on: date,
    ends_on: date | None = None,
    times: int | None = None,
) -> Schedule:
    """Schedule ``questionnaire`` for the chosen partners of ``case``: ``every`` days or
    weeks from ``starts_on``, until ``ends_on`` or ``times`` occurrences (or until ended)."""
    chosen = [p for p in case.partners if p.id in set(partner_ids)]
    if not chosen or len(chosen) != len(set(partner_ids)):
        raise ScheduleError("Choose at least one partner of this case.")
    if case.status != "active":
        raise ScheduleError("This case is archived; make it active again to schedule check-ins.")
    if questionnaire.latest is None:
        raise ScheduleError("This questionnaire is a draft: publish it before scheduling it.")
    if unit not in cadence.MAX_EVERY:
        raise ScheduleError("Choose days or weeks.")
    if not 1 <= every <= cadence.MAX_EVERY[unit]:
        raise ScheduleError(f"Every 1 to {cadence.MAX_EVERY[unit]} {unit}.")
    if starts_on < today():
        raise ScheduleError("The first check-in cannot be in the past.")
    if ends_on is not None and ends_on < starts_on:
        raise ScheduleError("The end date is before the first check-in.")
    if times is not None and not 1 <= times <= cadence.MAX_TIMES:
        raise ScheduleError(f"A schedule runs 1 to {cadence.MAX_TIMES} times.")
    schedule = Schedule(
        case_id=case.id,
        questionnaire_id=questionnaire.id,
        every=every,
        unit=unit,
        starts_on=starts_on,
        ends_on=ends_on,
        times=times,
        next_on=starts_on,
        made=0,
        status="active",
    )
    schedule.members = [SchedulePartner(partner_id=p.id) for p in chosen]
    db.session.add(schedule)
    db.session.flush()
    audit.record("schedule.create", "schedule", schedule.id)
    return schedule


def get_schedule_or_404(case: Case, schedule_id: uuid.UUID) -> Schedule:
    """A schedule of an owned case, else 404."""
    return get_in_case_or_404(Schedule, case, schedule_id, via=Schedule.case_rel)


def _lock(schedule: Schedule) -> Schedule:
    """The schedule re-read under its row lock: a click and beat's job take turns."""
    lock_row(Schedule, schedule.id)
    return schedule


def pause(schedule: Schedule) -> None:
    """Stop making occurrences until resumed (a paused one stays paused)."""
    _lock(schedule)
    if schedule.status == "ended":
        raise ScheduleError("This schedule has ended; start a new one instead.")
    if schedule.status == "active":
        schedule.status = "paused"
        schedule.changed_at = utcnow()
    audit.record("schedule.pause", "schedule", schedule.id)


def resume(schedule: Schedule) -> None:
    """Make occurrences again, from the schedule's next day that is today or later (days
    missed while paused are not made up)."""
    _lock(schedule)
    if schedule.status == "ended":
        raise ScheduleError("This schedule has ended; start a new one instead.")
    if schedule.status == "paused":
        nxt = cadence.on_or_after(schedule.starts_on, _gap(schedule), today())
        done = (schedule.times is not None and schedule.made >= schedule.times) or (
            schedule.ends_on is not None and nxt > schedule.ends_on
        )
        schedule.status = "ended" if done else "active"
        schedule.next_on = None if done else nxt
        schedule.changed_at = utcnow()
    audit.record("schedule.resume", "schedule", schedule.id)


def end(schedule: Schedule) -> None:
    """End the schedule for good: no more occurrences (the ones made stay)."""
    _lock(schedule)
    if schedule.status != "ended":
        schedule.status = "ended"
        schedule.next_on = None
        schedule.changed_at = utcnow()
    audit.record("schedule.end", "schedule", schedule.id)


CHANGES = {"pause": pause, "resume": resume, "end": end}


@dataclass
class ScheduleRow:
    """A schedule as the case page lists it."""

    id: uuid.UUID
    #: active, paused or ended
    status: str
    title: str
    partners: list[str]
    rhythm: str  # "every week from 3 Mar 2026, 6 times"
    next_text: str  # "Next: Mon 9 Mar 2026", "Paused", "Ended"


def _rhythm(s) -> str:
    bound = ""
    if s.times is not None:
        bound = f", {s.times} time{'s' if s.times != 1 else ''}"
    if s.ends_on is not None:
        bound += f", until {day_text(s.ends_on)}"
    made = f" · {s.made} made" if s.made else ""
    return f"{cadence.describe(s.every, s.unit)} from {day_text(s.starts_on)}{bound}{made}"


def _next_text(s) -> str:
    if s.status == "ended" or s.next_on is None:
        return "Ended"
    if s.status == "paused":
        return "Paused"
    if s.next_on <= today():
        return "Next: today"
    return f"Next: {s.next_on.strftime('%a')} {day_text(s.next_on)}"


_sc, _sp = Schedule.__table__.c, SchedulePartner.__table__.c
# Built once per process: making a statement and its cache key costs more CPU than running it
# (README, "Where each page's CPU goes"). One row per schedule and member, as plain columns,
# with the questionnaire's title.
_CASE_SCHEDULES = (
    select(
        *(_sc[n] for n in ("id", "every", "unit", "starts_on", "ends_on", "times", "next_on")),
        *(_sc[n] for n in ("made", "status")),
        Questionnaire.__table__.c.title,
        _sp.partner_id,
    )
    .join(Questionnaire.__table__, Questionnaire.__table__.c.id == _sc.questionnaire_id)
    .outerjoin(SchedulePartner.__table__, _sp.schedule_id == _sc.id)
    .where(_sc.case_id == bindparam("case_id"))
    .order_by(_sc.created_at.desc(), _sc.id)
)


def case_schedules(case_id: uuid.UUID, partners: list) -> list[ScheduleRow]:
    """The case's schedules for its page: running ones first, then paused, then ended
    (``partners``: the case's, in case order, for the members' names)."""
    rows: dict[uuid.UUID, tuple] = {}
    for row in db.session.execute(_CASE_SCHEDULES, {"case_id": case_id}):
        rows.setdefault(row.id, (row, set()))[1].add(row.partner_id)
    order = {"active": 0, "paused": 1, "ended": 2}
    listed = [
        ScheduleRow(
            s.id,
            s.status,
            s.title,
            [p.display_name for p in partners if p.id in members],
            _rhythm(s),
            _next_text(s),
        )
        for s, members in rows.values()
    ]
    return sorted(listed, key=lambda r: order.get(r.status, 3))


# ---- beat's job --------------------------------------------------------------------------


def due_ids(day: date) -> list[uuid.UUID]:
    """Schedules of active cases whose next day has come."""
    return list(
        db.session.scalars(
            select(Schedule.id)
            .join(Case, Case.id == Schedule.case_id)
            .where(
                Schedule.status == "active",
                Schedule.next_on.is_not(None),
                Schedule.next_on <= day,
                Case.status == "active",
            )
        )
    )


def run_one(schedule_id: uuid.UUID, now: datetime | None = None) -> Occurrence | None:
    """Make the schedule's due occurrence, once: only the process whose conditional update
    still finds the old next day and count gets it (another one, at the same moment, finds
    them changed and makes nothing). After downtime it makes one occurrence, for the latest
    day that has come, and moves on to the first day after today. Flushes; the caller
    commits (or rolls back on None)."""
    day = today(now)
    schedule = db.session.get(Schedule, schedule_id, populate_existing=True)
    if schedule is None or schedule.status != "active" or schedule.next_on is None:
        return None
    if schedule.next_on > day:
        return None
    if schedule.ends_on is not None and day > schedule.ends_on:
        # beat was down past the last day: no check-in after it, the schedule is over
        db.session.execute(
            update(Schedule)
            .where(Schedule.id == schedule.id, Schedule.status == "active")
            .values(status="ended", next_on=None)
            .execution_options(synchronize_session=False)
        )
        return None
    old_next, number = schedule.next_on, schedule.made + 1
    gap = _gap(schedule)
    nxt = cadence.following(
        schedule.starts_on, gap, day, made=number, ends_on=schedule.ends_on, times=schedule.times
    )
    claimed = db.session.execute(
        update(Schedule)
        .where(
            Schedule.id == schedule.id,
            Schedule.status == "active",
            Schedule.next_on == old_next,
            Schedule.made == schedule.made,
        )
        .values(next_on=nxt, made=number, status="active" if nxt else "ended")
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return None
    db.session.refresh(schedule)
    # the latest of the schedule's days that has come (after downtime: not the first missed)
    on = max(old_next, cadence.on_or_before(schedule.starts_on, gap, day))
    occurrence = Occurrence(schedule_id=schedule.id, number=number, falls_on=on)
    db.session.add(occurrence)
    db.session.flush()  # the unique (schedule, number) row: a second maker fails here
    partner_ids = list(schedule.partner_ids)
    case = db.session.get(Case, schedule.case_id)
    partner_ids = [p.id for p in case.partners if p.id in set(partner_ids)]
    if not partner_ids:
        raise AssignmentError("No partner of this schedule is left in the case.")
    # the homework signal mails each partner once (a unique row per partner and assignment)
    assignment, _ = assign(
        case,
        schedule.questionnaire.latest,
        partner_ids,
        due_on=None,
        instructions=None,
        ttl_days=None,
    )
    occurrence.assignment_id = assignment.id
    audit.record("schedule.run", "schedule", schedule.id, actor_kind="system")
    return occurrence


def _stall(schedule_id: uuid.UUID, reason: str) -> None:
    """A schedule that cannot make its occurrence (no partner left, questionnaire gone) is
    paused, so that the counselor sees it on the case page instead of beat retrying hourly."""
    db.session.execute(
        update(Schedule)
        .where(Schedule.id == schedule_id, Schedule.status == "active")
        .values(status="paused", changed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    audit.record("schedule.pause", "schedule", schedule_id, actor_kind="system")
    log.warning("schedule %s paused: %s", schedule_id, reason)


def run_and_commit(schedule_id: uuid.UUID, now: datetime | None = None) -> bool:
    """Make the schedule's due occurrence, if any, in its own transaction; whether one was
    made here. Beat calls it for every due schedule, and a new schedule whose first day is
    today calls it at once, so that its partners need not wait for beat's next run."""
    try:
        occurrence = run_one(schedule_id, now)
    except IntegrityError:  # another process made this occurrence a moment ago
        db.session.rollback()
        return False
    except AssignmentError as exc:
        db.session.rollback()
        _stall(schedule_id, str(exc))
        db.session.commit()
        return False
    # with nothing made (another process did, or the schedule ended) the commit keeps an end
    db.session.commit()
    return occurrence is not None


def run_due(now: datetime | None = None) -> int:
    """Make every due occurrence, each in its own transaction; returns how many were made.
    Safe to run twice, at once in two processes, or after downtime."""
    return sum(run_and_commit(schedule_id, now) for schedule_id in due_ids(today(now)))
