"""The client handout a partner takes home (issue 9 §7): the agreed pause signal from a
released pause-signal exercise (through the partner filter), the next appointment when one is
recorded, the counselor's contact, and never the same line once per role.
"""

from __future__ import annotations

import io
from datetime import date, time

from pypdf import PdfReader

from counselor.core.models import utcnow
from counselor.extensions import db
from counselor.questionnaires.services import assign, load_definition
from counselor.reports import builders, services
from counselor.reports.models import Export
from tests.reports.test_handout import _submit
from tests.support import new_case, questionnaire, sync

TWO_ROLES = {
    "slug": "two-roles",
    "title": "Two roles",
    "purpose": "test",
    "kind": "exercise",
    "items": [
        {
            "link_id": "kiss",
            "type": "desire",
            "text": "Slow kissing",
            "roles": [
                {"key": "start", "label": "Starting it"},
                {"key": "long", "label": "Making it last"},
            ],
        }
    ],
}


def _handout_text(case, session, partner) -> str:
    export = services.request_export(case, "handout", session, partner.id)
    db.session.commit()
    pdf = builders.render(db.session.get(Export, export.id))
    return " ".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def _assign(case, version):
    a, _ = assign(case, version, [], due_on=None, instructions=None, ttl_days=30)
    db.session.flush()
    return a


def test_handout_shows_pause_signal_next_appointment_contact_and_one_line_per_match(
    app, counselor_a
):
    from counselor.cases.services import save_session

    sync()
    case = new_case(counselor_a, "Handout case", ("Sam", "Alex"))
    session = save_session(
        case, {"date": date(2026, 11, 20), "time": time(9, 0), "duration_minutes": 50}
    )
    pause = _assign(case, questionnaire("pause-signal").latest)
    _submit(
        pause,
        {
            "Sam": {"signal.word": "Pineapple", "private.worry": "SAM-WORRY-CANARY"},
            "Alex": {"signal.word": "pineapple", "private.worry": "ALEX-WORRY-CANARY"},
        },
    )
    q, _ = load_definition(TWO_ROLES, counselor_a.id)
    kiss = _assign(case, q.latest)
    both = {"roles": {"start": "yes", "long": "yes"}, "hard_limit": False, "note": ""}
    _submit(kiss, {"Sam": {"kiss": both}, "Alex": {"kiss": both}})
    kiss.released_at = utcnow()
    db.session.commit()
    sam = next(p for p in case.partners if p.display_name == "Sam")

    # not released yet: no pause signal is printed, and no next appointment is recorded
    text = _handout_text(case, session, sam)
    assert "pause signal" not in text.lower() and "NEXT APPOINTMENT" not in text
    assert counselor_a.email in text, "the counselor's contact"
    assert text.count("You and Alex both want this") == 1
    assert "You and Alex both want this (starting it, making it last)." in text

    pause.released_at = utcnow()
    save_session(case, {"date": date(2026, 12, 4), "time": time(16, 30), "duration_minutes": 50})
    db.session.commit()
    text = _handout_text(case, session, sam)
    assert "Your pause signal" in text and "Your agreed pause word: Pineapple" in text
    assert "NEXT APPOINTMENT Fri 4 Dec 2026, 16:30" in text
    for canary in ("SAM-WORRY-CANARY", "ALEX-WORRY-CANARY"):
        assert canary not in text
