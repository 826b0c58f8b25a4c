"""Beat's check-in job run by two workers at the same moment (or while the counselor pauses or
ends the schedule), on PostgreSQL: each occurrence is made once, with one homework and one
mail per partner (DESIGN: "every job is safe to run twice"; SECURITY: "schedule run twice:
0 invariant violations").

Each worker is a thread with its own app context, hence its own database session and
connection, as two Celery worker processes would have; a barrier starts them together.
"""

from __future__ import annotations

from sqlalchemy import func, select

from counselor.checkins import services
from counselor.checkins.models import Occurrence, Schedule
from counselor.extensions import db
from counselor.mail.models import Message
from counselor.questionnaires.models import Assignment
from tests.support import PG_URL, new_case, service_unavailable
from tests.support.checkins import at_noon, weekly
from tests.support.races import in_app_contexts

#: tries per run (the security promise asks for at least 50)
TRIES = 50


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _violations(case, schedule_id, days: int) -> list[str]:
    db.session.expire_all()
    schedule = db.session.get(Schedule, schedule_id)
    made = _count(Occurrence, Occurrence.schedule_id == schedule_id)
    homework = _count(Assignment, Assignment.case_id == case.id)
    mails = _count(Message, Message.case_id == case.id, Message.kind == "partner.homework")
    found = []
    if schedule.made != made:
        found.append(f"schedule counts {schedule.made}, {made} occurrences stored")
    if homework != made:
        found.append(f"{made} occurrences but {homework} homework")
    if mails != made * len(case.partners):
        found.append(f"{made} occurrences but {mails} mails")
    if made > days:
        found.append(f"{made} occurrences in {days} days of the schedule")
    return found


def test_two_workers_running_the_job_at_once_make_each_check_in_once(app, counselor_a):
    if not PG_URL:
        service_unavailable("PostgreSQL (COUNSELOR_TEST_DATABASE_URL) for the race test")
    violations, made = [], 0
    for n in range(TRIES):
        case = new_case(counselor_a, f"Race {n}")
        for p in case.partners:
            p.email = f"p{n}-{p.position}@example.net"
        db.session.commit()
        schedule_id = weekly(case).id
        if n % 5 in (2, 4):
            # the counselor pauses or ends the schedule at the very moment beat runs it
            change = services.pause if n % 5 == 2 else services.end
            in_app_contexts(
                app,
                lambda: services.run_due(at_noon(0)),
                lambda sid=schedule_id, change=change: _change(sid, change),
            )
        else:
            got = in_app_contexts(
                app, lambda: services.run_due(at_noon(0)), lambda: services.run_due(at_noon(0))
            )
            made += sum(got)
            if sorted(got) != [0, 1]:
                violations.append(f"try {n}: the two workers made {got}")
        violations += [f"try {n}: {v}" for v in _violations(case, schedule_id, 1)]
        db.session.commit()
    assert violations == []
    assert made == TRIES - 2 * (TRIES // 5)


def _change(schedule_id, change) -> None:
    change(db.session.get(Schedule, schedule_id))
    db.session.commit()
