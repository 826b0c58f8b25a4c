"""Erasing a case leaves nothing of it behind: no partner, session, homework, link, alert or PDF."""

from __future__ import annotations

from sqlalchemy import func, select

from counselor.cases.models import Case, CounselingSession, Partner
from counselor.extensions import db
from counselor.questionnaires.models import Assignment, Link, Response
from counselor.reports.models import Export
from counselor.reveal.models import Alert
from tests.conftest import new_case
from tests.library_helpers import questionnaire, sync
from tests.test_canary import database_bytes, leaks

CANARY_NAME = "Canary-Erase-Partner-Zq81"
CANARY_ANSWER = "Canary-Erase-Answer-Vx27"


def _rows(model, **where) -> int:
    stmt = select(func.count()).select_from(model)
    for column, value in where.items():
        stmt = stmt.where(getattr(model, column) == value)
    return db.session.scalar(stmt)


def test_deleting_a_case_erases_every_row_that_belongs_to_it(
    app, client_a, counselor_a, database_url
):
    from counselor.cases.services import save_session
    from counselor.core.models import utcnow
    from counselor.questionnaires.services import assign
    from counselor.reports import services as reports

    sync()
    case = new_case(counselor_a, "Erase me", (CANARY_NAME, "Second Partner"))
    kept = new_case(counselor_a, "Keep me", ("Kept Partner",))
    session = save_session(
        case,
        {
            "date": utcnow().date(),
            "time": utcnow().time(),
            "duration_minutes": 50,
            "agenda": "",
            "notes": "n",
            "next_steps": "",
        },
    )
    assignment, _ = assign(
        case, questionnaire("debrief").latest, [], due_on=None, instructions=None, ttl_days=30
    )
    for response in assignment.responses:
        response.answers = {"excited.what": CANARY_ANSWER}
    db.session.flush()
    db.session.add(
        Alert(
            case_id=case.id,
            assignment_id=assignment.id,
            response_id=assignment.responses[0].id,
            partner_id=assignment.responses[0].partner_id,
            link_id="feel.now",
        )
    )
    reports.request_export(case, "clinical", session, None)
    db.session.commit()
    case_id = case.id

    r = client_a.post(f"/cases/{case_id}/delete", data={"confirm_label": "Erase me"})
    assert r.status_code == 302

    db.session.expire_all()
    assert db.session.get(Case, case_id) is None
    for model in (Partner, CounselingSession, Assignment, Alert, Export):
        assert _rows(model, case_id=case_id) == 0, model.__name__
    assert _rows(Response) == 0 and _rows(Link) == 0  # the only homework was this case's
    assert db.session.get(Case, kept.id) is not None and _rows(Partner, case_id=kept.id) == 1
    assert leaks(database_bytes(database_url), CANARY_NAME, CANARY_ANSWER) == []
