"""A case's latest session time (``case.last_session_at``, the caseload's sort key) when two
sessions of one case are saved or deleted at the same moment, on PostgreSQL.

Each side is a thread with its own app context, hence its own database session and
connection, as two workers serving two tabs would have; a barrier starts them together. After
each try the key must be the latest of the case's sessions: without the case's row lock
each side took the latest of what it could see (its own session, not the other's), and the
one that committed last wrote it.
"""

from __future__ import annotations

import threading
from datetime import time, timedelta

from sqlalchemy import func, select

from counselor.cases import services
from counselor.cases.models import Case, CounselingSession
from counselor.extensions import db
from tests.support import PG_URL, new_case, practice_today, service_unavailable

#: tries per race
TRIES = 25


def _together(app, *actions) -> None:
    barrier = threading.Barrier(len(actions))
    failed: list = []

    def run(action):
        try:
            with app.app_context():
                barrier.wait()
                action()
                db.session.commit()
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            failed.append(exc)

    threads = [threading.Thread(target=run, args=(a,)) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failed, failed


def _data(days_ago: int) -> dict:
    return {
        "date": practice_today() - timedelta(days=days_ago),
        "time": time(10, 0),
        "duration_minutes": 50,
    }


def _add(case_id, days_ago: int):
    def action():
        services.save_session(db.session.get(Case, case_id), _data(days_ago))

    return action


def _move(case_id, session_id, days_ago: int):
    def action():
        case = db.session.get(Case, case_id)
        services.save_session(case, _data(days_ago), db.session.get(CounselingSession, session_id))

    return action


def _delete(case_id, session_id):
    def action():
        case = db.session.get(Case, case_id)
        services.delete_session(case, db.session.get(CounselingSession, session_id))

    return action


def _wrong(case_id) -> str | None:
    """What is wrong with the case's key after a try, None when it is the latest session."""
    db.session.expire_all()
    key = db.session.get(Case, case_id).last_session_at
    latest = db.session.scalar(
        select(func.max(CounselingSession.starts_at)).where(CounselingSession.case_id == case_id)
    )
    return None if key == latest else f"key {key}, latest session {latest}"


def _session(case, days_ago: int) -> CounselingSession:
    session = services.save_session(case, _data(days_ago))
    db.session.commit()
    return session


def test_two_sessions_saved_at_once_leave_the_later_as_the_cases_latest(app, counselor_a):
    if not PG_URL:
        service_unavailable("PostgreSQL (COUNSELOR_TEST_DATABASE_URL) for the race test")
    wrong = []
    for n in range(TRIES):
        case = new_case(counselor_a, f"Race {n}")
        db.session.commit()
        # one side adds an earlier session, the other a later one: the later must lead
        _together(app, _add(case.id, 3), _add(case.id, 1))
        wrong += filter(None, [_wrong(case.id)])
    assert not wrong, f"{len(wrong)} of {TRIES} tries: {wrong[:3]}"


def test_an_edit_or_delete_of_the_latest_at_the_same_time_as_an_add_keeps_the_key_right(
    app, counselor_a
):
    if not PG_URL:
        service_unavailable("PostgreSQL (COUNSELOR_TEST_DATABASE_URL) for the race test")
    wrong = []
    for n in range(TRIES):
        case = new_case(counselor_a, f"Race {n}")
        latest = _session(case, 1)
        # the latest session moved back (or deleted) while an earlier one is added
        change = _move(case.id, latest.id, 9) if n % 2 else _delete(case.id, latest.id)
        _together(app, change, _add(case.id, 5))
        wrong += filter(None, [_wrong(case.id)])
    assert not wrong, f"{len(wrong)} of {TRIES} tries: {wrong[:3]}"
