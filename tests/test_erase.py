"""Erasing a case leaves nothing of it behind: no partner, session, homework, link, alert or PDF."""

from __future__ import annotations

from sqlalchemy import func, select

from counselor.alerts.models import Alert
from counselor.cases.models import Case, CounselingSession, Partner
from counselor.core.crypto import REGISTRY
from counselor.extensions import db
from counselor.questionnaires.models import Assignment, Link, Response
from counselor.reports.models import Export
from tests.support import database_bytes, new_case, questionnaire, sync

CANARY_NAME = "Canary-Erase-Partner-Zq81"
CANARY_ANSWER = "Canary-Erase-Answer-Vx27"


def _rows(model, **where) -> int:
    stmt = select(func.count()).select_from(model)
    for column, value in where.items():
        stmt = stmt.where(getattr(model, column) == value)
    return db.session.scalar(stmt)


def _sealed_values(*objects) -> list[bytes]:
    """The ciphertexts the objects store: random bytes that only their own rows hold."""
    return [
        bytes(blob)
        for obj in objects
        for model, name in REGISTRY
        if isinstance(obj, model) and (blob := getattr(obj, f"{name}_sealed")) is not None
    ]


def _still_stored(dump: bytes, values: list[bytes]) -> int:
    """How many of the values the dump still holds, raw (SQLite) or hex (pg_dump's bytea)."""
    lowered = dump.lower()
    return sum(1 for v in values if v in dump or v.hex().encode() in lowered)


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
    erased = _sealed_values(case, *case.partners, session, *assignment.responses, assignment)
    assert len(erased) >= 6, "the label, two names, the notes and two answers"
    # the check can fail: before the delete, the database holds every one of them
    assert _still_stored(database_bytes(database_url), erased) == len(erased)

    r = client_a.post(f"/cases/{case_id}/delete", data={"confirm_label": "Erase me"})
    assert r.status_code == 302

    db.session.expire_all()
    assert db.session.get(Case, case_id) is None
    for model in (Partner, CounselingSession, Assignment, Alert, Export):
        assert _rows(model, case_id=case_id) == 0, model.__name__
    assert _rows(Response) == 0 and _rows(Link) == 0  # the only homework was this case's
    assert db.session.get(Case, kept.id) is not None and _rows(Partner, case_id=kept.id) == 1
    # The names and answers are ciphertext, so a plaintext search would pass even if nothing
    # were deleted: look for the stored ciphertexts themselves, which only their rows held.
    assert _still_stored(database_bytes(database_url), erased) == 0
