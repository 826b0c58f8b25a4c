"""Informed consent in the record PDFs: the practice's current text and each partner's
acknowledgement, as ``reports`` asks for it through ``app.extensions["record_sections"]``."""

from __future__ import annotations

import uuid
from datetime import datetime

from counselor.cases.models import Case
from counselor.consent import services
from counselor.core.models import day_text, local_day
from counselor.extensions import db
from counselor.reports.data import ConsentBlock


def _version(number: int, text_hash: str) -> str:
    return f"version {number}, SHA-256 {text_hash[:12]}…"


def record_section(
    case_id: uuid.UUID, since: datetime | None, until: datetime | None
) -> list[ConsentBlock]:
    """One block: the current version, and per partner the newest version they acknowledged,
    with the name and date they typed (the record is the counselor's; it is where an
    acknowledgement is kept). ``since`` and ``until`` do not narrow it: consent is a standing
    fact of the case, shown as it is when the record is made."""
    case = db.session.get(Case, case_id)
    if case is None:
        return []
    statuses = services.case_status(case)
    if not statuses:
        return []
    current = statuses[0].current
    lines = []
    for status in statuses:
        ack = status.latest
        if ack is None:
            lines.append((status.partner.display_name, "Not acknowledged yet."))
            continue
        which = "the current version" if status.done else "an earlier version"
        sentence = (
            f"Acknowledged {which} on {local_day(ack.acknowledged_at)}, typing "
            f"“{ack.typed_name}” and the date {day_text(ack.signed_on)} "
            f"({_version(ack.version.number, ack.text_hash)})."
        )
        if not status.done:
            sentence += " Not yet the current one."
        lines.append((status.partner.display_name, sentence))
    return [ConsentBlock("V" + _version(current.number, current.text_hash)[1:], lines)]
