"""Scores print in the counselor's clinical record, per partner with reading and source."""

from __future__ import annotations

import io
from datetime import date, time

from pypdf import PdfReader

from counselor.extensions import db
from counselor.questionnaires.services import assign, load_definition
from counselor.reports import builders, services
from counselor.reports.models import Export
from tests.reveal.test_scores import scored_definition
from tests.support import new_case


def test_case_record_prints_each_partners_scores_with_reading_and_source(app, counselor_a):
    from counselor.cases.services import save_session

    case = new_case(counselor_a, "Scores case", ("Sam", "Alex"))
    q, _ = load_definition(scored_definition(), counselor_a.id)
    assignment, _ = assign(case, q.latest, [], due_on=None, instructions=None, ttl_days=30)
    db.session.flush()
    for response in assignment.responses:
        sam = response.partner.display_name == "Sam"
        response.answers = {"s.a": 1, "s.b": 2} if sam else {"s.a": 9}
        response.status = "submitted"
        response.submitted_at = assignment.created_at
    save_session(
        case,
        {
            "date": date(2099, 1, 5),
            "time": time(9, 0),
            "duration_minutes": 50,
            "agenda": "",
            "notes": "",
            "next_steps": "",
        },
    )
    db.session.commit()
    export = services.request_export(case, "case_record", None, None)
    db.session.commit()
    pdf = builders.render(db.session.get(Export, export.id))
    text = " ".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "SCORE (COUNSELOR ONLY)" in text
    assert "TITLE-shared-score" in text and "TITLE-private-score" in text
    assert "Sam: 3 – READING-low" in text
    assert "Alex: not scored (1 of 2 items unanswered; every item is needed)" in text
    assert "Source: SOURCE-practice-defined, not validated" in text
