"""Homework since the previous session is computed one way (issue 9 §7): the clinical record
of a session and the case record made the same minute list the same submissions under it.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta

from pypdf import PdfReader

from counselor.extensions import db
from counselor.questionnaires.services import assign, load_definition
from counselor.reports import builders, homework, services
from counselor.reports.models import Export
from tests.reports.test_handout import DEFINITION
from tests.support import new_case

T = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
ENDS = [T + timedelta(minutes=50), T + timedelta(days=7, minutes=50)]


def test_a_submission_belongs_to_the_first_session_that_ends_after_it():
    assert homework.session_index(ENDS, T - timedelta(days=3)) == 0
    assert homework.session_index(ENDS, T + timedelta(minutes=20)) == 0, "sent in the session"
    assert homework.session_index(ENDS, ENDS[0]) == 0, "the end is inclusive"
    assert homework.session_index(ENDS, ENDS[0] + timedelta(seconds=1)) == 1
    assert homework.session_index(ENDS, ENDS[1] + timedelta(hours=4)) == homework.AFTER_LAST
    assert homework.session_index([], T) == homework.AFTER_LAST


def test_each_submission_is_counted_once_and_drafts_never():
    late = ENDS[1] + timedelta(days=1)
    got = homework.by_session(ENDS, [T + timedelta(minutes=20), None, T + timedelta(days=2), late])
    assert got == {0: [0], 1: [2], homework.AFTER_LAST: [3]}


def _titled(counselor_a, slug: str, title: str):
    q, _ = load_definition({**DEFINITION, "slug": slug, "title": title}, counselor_a.id)
    return q


def _text(export_id) -> str:
    pdf = builders.render(db.session.get(Export, export_id))
    return " ".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def test_clinical_record_and_case_record_agree_on_a_sessions_homework(app, counselor_a):
    from counselor.cases.services import save_session

    case = new_case(counselor_a, "Homework case", ("Sam", "Alex"))
    first = save_session(
        case, {"date": date(2026, 11, 20), "time": time(10, 0), "duration_minutes": 50}
    )
    second = save_session(
        case, {"date": date(2026, 11, 27), "time": time(10, 0), "duration_minutes": 50}
    )
    db.session.flush()
    sent = {
        "DURING-FIRST": first.starts_at + timedelta(minutes=20),
        "BEFORE-SECOND": second.starts_at - timedelta(days=1),
        "AFTER-SECOND": second.starts_at + timedelta(hours=4),
    }
    for title, at in sent.items():
        a, _ = assign(
            case,
            _titled(counselor_a, title.lower(), title).latest,
            [],
            due_on=None,
            instructions=None,
            ttl_days=30,
        )
        db.session.flush()
        for response in a.responses:
            response.answers = {"word": "Amber"}
            response.status = "submitted"
            response.submitted_at = at
    db.session.commit()

    clinical = {}
    for s in (first, second):
        export = services.request_export(case, "clinical", s, None)
        db.session.commit()
        record = builders.build_clinical(db.session.get(Export, export.id))
        clinical[s.id] = [b.title for b in record.sessions[0][1]]
        text = _text(export.id)
        for title in clinical[s.id]:
            assert title in text
    assert clinical[first.id] == ["DURING-FIRST"]
    assert clinical[second.id] == ["BEFORE-SECOND"]

    export = services.request_export(case, "case_record", None, None)
    db.session.commit()
    record = builders.build_clinical(db.session.get(Export, export.id))
    assert [[b.title for b in hw] for _, hw in record.sessions] == [
        clinical[first.id],
        clinical[second.id],
    ]
    assert [b.title for b in record.after_last] == ["AFTER-SECOND"]
    text = _text(export.id)
    assert "Homework sent after the last session" in text
    assert text.index("BEFORE-SECOND") < text.index("Homework sent after the last session")
    assert text.index("Homework sent after the last session") < text.index("AFTER-SECOND")
