"""The clinical record opens with a one-page summary (issue 9 §7) and both records keep the
alert's closing note (§5): alerts with the partner's answers and notes, limit collisions,
mismatches, complementary pairs with who does what, and the partners' notes.
"""

from __future__ import annotations

import io
from datetime import timedelta

from pypdf import PdfReader

from counselor.alerts.models import Alert
from counselor.core.models import to_local, utcnow
from counselor.extensions import db
from counselor.reports import builders, services
from counselor.reports.models import Export
from tests.reveal import test_release as _release_tests
from tests.reveal.test_release import ITEM_TEXT, answer_everything

scenario = _release_tests.scenario  # Sam and Alex: every desire class, and an intake alert

PRESSURE = "Reports some pressure (or is unsure) about taking part"


def pages(pdf: bytes) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages]


def test_clinical_record_opens_with_the_summary_and_keeps_the_closing_note(scenario):
    from counselor.cases.services import save_session

    s = scenario
    answer_everything(s)
    (alert,) = db.session.query(Alert).filter_by(case_id=s.case.id).all()
    note = "Saw Sam alone; the pressure was about time, not about Alex."
    r = s.counselor.post(f"/cases/{s.case.id}/alerts/{alert.id}/acknowledge", data={"note": note})
    assert r.status_code == 302
    start = to_local(utcnow() - timedelta(minutes=10))
    session = save_session(
        s.case, {"date": start.date(), "time": start.time(), "duration_minutes": 50}
    )
    db.session.commit()

    export = services.request_export(s.case, "clinical", session, None)
    db.session.commit()
    text = pages(builders.render(db.session.get(Export, export.id)))
    assert "At a glance" in text[0]
    # the summary runs until the session's own pages (its who does what and notes may take it
    # past one page): those open with the agenda
    end = next(i for i, page in enumerate(text) if "Agenda" in page) - 1
    first = " ".join(text[: end + 1])
    assert PRESSURE in first and "Sam Rivera" in first and "answered: A little" in first
    assert f"Closing note: {note}" in first
    assert ITEM_TEXT["limit_collision"] in first
    assert f"{ITEM_TEXT['mismatch']} (Sam Rivera & Alex Novak)" in first
    # who does what: the comparison's per-role lines (matching.who_does_what)
    assert f"{ITEM_TEXT['complementary']}: Sam Rivera: Giving · Alex Novak: Receiving" in first
    assert s.c["alex-rope-note"] in first, "partner notes are on the summary"
    # the full tables start on a later page
    assert all("At a glance" not in page for page in text[1:])
    assert any(ITEM_TEXT["neither"] in page for page in text[end + 1 :])

    export = services.request_export(s.case, "case_record", None, None)
    db.session.commit()
    record = " ".join(pages(builders.render(db.session.get(Export, export.id))))
    assert f"Closing note: {note}" in record and PRESSURE in record
