"""A client handout is built only through the partner-facing filter: canaries never reach it."""

from __future__ import annotations

import io
from datetime import date, time

from pypdf import PdfReader

from counselor.extensions import db
from counselor.questionnaires.services import assign, load_definition
from counselor.reports import builders, services
from counselor.reports.models import Export
from tests.support import new_case

DEFINITION = {
    "slug": "handout-check",
    "title": "Handout check",
    "purpose": "test",
    "kind": "exercise",
    "items": [
        {
            "link_id": "s",
            "type": "group",
            "text": "Section",
            "items": [
                {
                    "link_id": "both",
                    "type": "desire",
                    "text": "Cuddling afterwards",
                    "roles": [{"key": "together", "label": "Together"}],
                },
                {
                    "link_id": "lead",
                    "type": "desire",
                    "text": "Leading and following",
                    "roles": [
                        {"key": "lead", "label": "Leading", "counterpart": "follow"},
                        {"key": "follow", "label": "Following", "counterpart": "lead"},
                    ],
                },
                {
                    "link_id": "nope",
                    "type": "desire",
                    "text": "Something only one wants",
                    "roles": [{"key": "together", "label": "Together"}],
                },
                {
                    "link_id": "word",
                    "type": "string",
                    "text": "Proposed pause word",
                    "share": "shared",
                },
                {"link_id": "private", "type": "text", "text": "Anything only for the counselor"},
            ],
        }
    ],
}


def _answers(tag: str, nope: str, lead: dict, word: str) -> dict:
    return {
        "both": {"roles": {"together": "yes"}, "hard_limit": False, "note": f"NOTE-{tag}-CANARY"},
        "lead": {"roles": lead, "hard_limit": False, "note": ""},
        "nope": {
            "roles": {"together": nope},
            "hard_limit": nope == "no",
            "note": f"LIMITNOTE-{tag}-CANARY",
        },
        "word": word,
        "private": f"PRIVATE-{tag}-CANARY",
    }


def _submit(assignment, answers_by_name):
    for response in assignment.responses:
        response.answers = answers_by_name[response.partner.display_name]
        response.status = "submitted"
        response.submitted_at = assignment.created_at


def test_handout_holds_matches_and_shared_items_but_no_private_text(app, counselor_a):
    from counselor.cases.services import save_session
    from counselor.core.models import utcnow

    # The label is the counselor's private name for the case: a canary on the handout.
    case = new_case(counselor_a, "CASELABEL-CANARY Sam & Alex – affair", ("Sam", "Alex"))
    session = save_session(
        case,
        {
            "date": date(2026, 1, 5),
            "time": time(9, 0),
            "duration_minutes": 50,
            "agenda": "AGENDA-CANARY",
            "notes": "SESSION-NOTES-CANARY",
            "next_steps": "Read chapter three together",
        },
    )
    q, _ = load_definition(DEFINITION, counselor_a.id)
    released, _ = assign(case, q.latest, [], due_on=None, instructions=None, ttl_days=30)
    unreleased, _ = assign(case, q.latest, [], due_on=None, instructions=None, ttl_days=30)
    db.session.flush()
    _submit(
        released,
        {
            "Sam": _answers("SAM", "yes", {"lead": "yes", "follow": "no"}, "Amber"),
            "Alex": _answers("ALEX", "no", {"lead": "no", "follow": "want_to_try"}, "Pineapple"),
        },
    )
    _submit(
        unreleased,
        {
            "Sam": _answers("SAM2", "yes", {"lead": "yes"}, "UNRELEASED-WORD-SAM"),
            "Alex": _answers("ALEX2", "yes", {"follow": "yes"}, "UNRELEASED-WORD-ALEX"),
        },
    )
    released.released_at = utcnow()
    db.session.commit()

    sam = next(p for p in case.partners if p.display_name == "Sam")
    export = services.request_export(case, "handout", session, sam.id)
    db.session.commit()
    handout = builders.build_handout(db.session.get(Export, export.id))
    pdf = builders.render(db.session.get(Export, export.id))
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())
    metadata = " ".join(str(v) for v in (reader.metadata or {}).values())

    assert "Read chapter three together" in flat
    assert "Cuddling afterwards" in flat and "Leading and following" in flat
    assert "Pineapple" in flat  # Alex's shared answer
    for canary in (
        "SESSION-NOTES-CANARY",
        "AGENDA-CANARY",
        "NOTE-ALEX-CANARY",
        "NOTE-SAM-CANARY",
        "LIMITNOTE-ALEX-CANARY",
        "PRIVATE-ALEX-CANARY",
        "PRIVATE-SAM-CANARY",
        "UNRELEASED-WORD-ALEX",
        "Something only one wants",
        "CASELABEL-CANARY",
        "affair",
    ):
        assert canary not in flat, canary
        assert canary not in repr(handout), canary
        assert canary not in metadata, canary
        assert canary.encode() not in pdf, canary


def test_case_record_holds_every_session(app, counselor_a):
    from counselor.cases.services import save_session

    case = new_case(counselor_a, "Record case", ("Kim",))
    for day, note in ((2, "FIRST-SESSION-NOTE"), (9, "SECOND-SESSION-NOTE")):
        save_session(
            case,
            {
                "date": date(2026, 2, day),
                "time": time(10, 0),
                "duration_minutes": 50,
                "agenda": "",
                "notes": note,
                "next_steps": "",
            },
        )
    export = services.request_export(case, "case_record", None, None)
    db.session.commit()
    pdf = builders.render(db.session.get(Export, export.id))
    text = " ".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "FIRST-SESSION-NOTE" in text and "SECOND-SESSION-NOTE" in text
    assert "Case record" in text and "Page 1 of" in text
