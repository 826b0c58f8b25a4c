"""The partner's agreement PDF (made by the export worker, through the partner filter) and the
agreement section of the clinical and case records."""

from __future__ import annotations

import io
import re
from datetime import date, time

from pypdf import PdfReader

from counselor.agreements import queries, services
from counselor.extensions import db
from counselor.reports.models import Export
from tests.support.agreements import agree_all, portal, published_agreement, released_case, revise


def _text(pdf: bytes) -> str:
    return " ".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def test_the_partner_pdf_has_the_history_and_hashes_but_no_label_notes_or_others_answers(
    app, counselor_a
):
    from counselor.reports.tasks import render_export

    r = released_case(counselor_a, label="Label-Secret-Case")
    agreement = published_agreement(r.case)
    v1 = queries.published(agreement)[0]
    services.answer(agreement, r.sam, v1.id, "agree", "Sam's private ack note")
    services.answer(agreement, r.alex, v1.id, "agree", None)
    db.session.commit()
    paused = services.pause(agreement, r.alex, v1.clauses[1]["key"])
    services.note_pause(agreement, r.alex, paused.id, "Alex's private pause note")
    v2 = revise(agreement, v1.clauses + [{"kind": "conduct", "text": "We check in weekly"}])
    services.answer(agreement, r.alex, v2.id, "talk", "Alex wants to talk")
    db.session.commit()

    sam = app.test_client()
    csrf = portal(sam, r.tokens["Sam Rivera"])
    asked = sam.post(f"/p/agreements/{agreement.id}/pdf", data={"csrf_token": csrf})
    assert asked.status_code == 302
    waiting = sam.get(asked.location).get_data(as_text=True)
    assert "being made" in waiting
    export = db.session.scalars(db.select(Export).where(Export.kind == "agreement")).one()
    assert render_export(str(export.id)) == "ready"  # the worker's task, run here
    ready = sam.get(asked.location).get_data(as_text=True)
    link = re.search(r'href="([^"]+/download)"', ready).group(1)
    got = sam.get(link)
    assert got.status_code == 200 and got.mimetype == "application/pdf"
    text = _text(got.data)
    assert "Your agreement" in text and "For Sam Rivera" in text
    # every version by its hash (a table cell may break the 64 characters over lines)
    compact = text.replace(" ", "")
    assert v1.content_hash in compact and v2.content_hash in compact
    assert "Paused by a partner" in text  # Alex's pause, not named
    assert "You agreed to version 1" in text
    for secret in (
        "Label-Secret-Case",
        "private ack note",
        "private pause note",
        "Alex wants to talk",
        "asked to talk",
        *r.private,
    ):
        assert secret not in text, secret
    # and the counselor's export list does not carry the partner's copy
    from counselor.reports.services import case_exports

    assert export.id not in {e.id for e in case_exports(r.case)}


def test_another_partners_pdf_is_the_missing_page(app, counselor_a):
    from counselor.agreements import exports

    r = released_case(counselor_a)
    agreement = published_agreement(r.case)
    export = exports.request(agreement, r.alex)
    db.session.commit()
    sam = app.test_client()
    portal(sam, r.tokens["Sam Rivera"])
    got = sam.get(f"/p/agreements/{agreement.id}/pdf/{export.id}")
    assert got.status_code == 404
    assert sam.get(f"/p/agreements/{agreement.id}/pdf/{export.id}/download").status_code == 404


def test_the_records_carry_the_agreement_in_force_and_the_changes_since_the_last_session(
    app, counselor_a
):
    from counselor.cases.services import save_session
    from counselor.reports.builders import render
    from counselor.reports.services import request_export

    r = released_case(counselor_a)
    session = {"duration_minutes": 50, "agenda": "", "notes": "", "next_steps": ""}
    save_session(r.case, {**session, "date": date(2026, 1, 5), "time": time(10, 0)})
    agreement = published_agreement(r.case)
    agree_all(agreement)
    v1 = queries.published(agreement)[0]
    paused = services.pause(agreement, r.sam, v1.clauses[0]["key"])
    services.note_pause(agreement, r.sam, paused.id, "Sam's note to the counselor")
    later = save_session(r.case, {**session, "date": date(2099, 1, 5), "time": time(10, 0)})
    db.session.commit()
    for kind, when in (("case_record", None), ("clinical", later)):
        export = request_export(r.case, kind, when, None)
        db.session.commit()
        text = _text(render(export))
        assert "Our agreement" in text and "Version 1" in text, kind
        assert "Paused by Sam Rivera" in text and "Sam's note to the counselor" in text, kind
        assert "Changes since the previous session" in text, kind
        assert "Alex Novak agreed to version 1" in text, kind
