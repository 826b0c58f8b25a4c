"""Case, partner and counseling-session operations. Functions flush; routes commit."""

from __future__ import annotations

import uuid
from itertools import combinations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from counselor.auth.models import Counselor
from counselor.cases.models import (
    MAX_PARTNERS,
    Case,
    CounselingSession,
    Partner,
    PartnerRelationship,
)
from counselor.core import audit
from counselor.core.locking import take_lock
from counselor.core.models import combine_local
from counselor.core.ownership import get_owned_or_404
from counselor.extensions import db


class CaseError(ValueError):
    """A case rule was broken; the message is shown next to the form."""


def get_case_or_404(case_id: uuid.UUID, *, load: tuple = ()) -> Case:
    """The current counselor's case, or 404 (also for another counselor's case); ``load``:
    loader options for the rows a page reads with it (a module-level tuple)."""
    return get_owned_or_404(Case, case_id, owner=Case.counselor_id, load=load)


def get_in_case_or_404(model, case: Case, row_id: uuid.UUID, *, via=None):
    """A row of ``model`` (with a ``case_id``) that belongs to ``case`` of the current
    counselor, else 404; ``via`` is its relationship to the case when not named ``case``."""
    return get_owned_or_404(
        model,
        row_id,
        owner=Case.counselor_id,
        via=(via if via is not None else model.case,),
        where=(model.case_id == case.id,),
    )


def get_session_or_404(case: Case, session_id: uuid.UUID) -> CounselingSession:
    """A counseling session of an owned case, or 404."""
    return get_in_case_or_404(CounselingSession, case, session_id)


def owned_cases(counselor: Counselor, ids: list[uuid.UUID]) -> list[Case]:
    """The counselor's cases among ``ids``, in that order, with their partners (for the
    services that change them; the caseload itself reads plain rows). Others are left out."""
    if not ids:
        return []
    found = db.session.scalars(
        select(Case)
        .options(selectinload(Case.partners))
        .where(Case.counselor_id == counselor.id, Case.id.in_(ids))
    ).all()
    place = {case_id: n for n, case_id in enumerate(ids)}
    return sorted(found, key=lambda c: place[c.id])


def _apply_partners(case: Case, rows: list[dict]) -> None:
    """Make the case's partners match ``rows``: known ids updated, others added, the rest removed.

    Positions stay where they are (gaps allowed) so that no update ever collides with the
    unique (case, position) pair; new partners take the lowest free positions.
    """
    if not 1 <= len(rows) <= MAX_PARTNERS:
        raise CaseError(f"A case has between 1 and {MAX_PARTNERS} partners.")
    existing = {str(p.id): p for p in case.partners}
    keep = {row["id"] for row in rows if row.get("id") in existing}
    for pid, partner in existing.items():
        if pid not in keep:
            for rel in [r for r in case.relationships if partner.id in r.pair]:
                case.relationships.remove(rel)
            case.partners.remove(partner)
            audit.record("partner.remove", "partner", partner.id)
    db.session.flush()  # free the removed partners' positions before new partners take them
    free = iter(sorted(set(range(1, MAX_PARTNERS + 1)) - {p.position for p in case.partners}))
    for row in rows:
        partner = existing.get(row["id"]) if row.get("id") in keep else None
        if partner is None:
            partner = Partner(position=next(free))
            # a newcomer is in a relationship with everyone until the counselor says otherwise
            for other in case.partners:
                case.relationships.append(_relationship(case, other, partner))
            case.partners.append(partner)
        partner.display_name = row["display_name"]
        partner.pronouns = row.get("pronouns")
        partner.email = row.get("email")
    case.partners.sort(key=lambda p: p.position)


def _relationship(case: Case, a: Partner, b: Partner) -> PartnerRelationship:
    first, second = sorted((a, b), key=lambda p: p.position)
    return PartnerRelationship(case_id=case.id, partner_a_id=first.id, partner_b_id=second.id)


def partner_pairs(case: Case) -> list[tuple[Partner, Partner]]:
    """Every pair of the case's partners, in case order (what the relationship map is made of)."""
    return list(combinations(case.partners, 2))


def set_relationships(case: Case, pairs: set[frozenset]) -> None:
    """Make the case's relationship map hold exactly ``pairs`` (sets of two partner ids)."""
    ids = {p.id for p in case.partners}
    if any(len(pair) != 2 or not pair <= ids for pair in pairs):
        raise CaseError("A relationship is between two partners of this case.")
    for rel in [r for r in case.relationships if r.pair not in pairs]:
        case.relationships.remove(rel)
    have = {r.pair for r in case.relationships}
    for a, b in partner_pairs(case):
        if frozenset((a.id, b.id)) in pairs and frozenset((a.id, b.id)) not in have:
            case.relationships.append(_relationship(case, a, b))
    db.session.flush()
    audit.record("case.relationships", "case", case.id)


def create_case(counselor: Counselor, label: str, partners: list[dict]) -> Case:
    """Open a new case with its partners."""
    case = Case(counselor_id=counselor.id, label=label.strip(), status="active")
    db.session.add(case)
    _apply_partners(case, partners)
    db.session.flush()
    audit.record("case.create", "case", case.id)
    return case


def update_case(case: Case, label: str, partners: list[dict]) -> None:
    """Change a case's label and partners."""
    case.label = label.strip()
    _apply_partners(case, partners)
    db.session.flush()
    audit.record("case.update", "case", case.id)


def set_status(case: Case, status: str) -> None:
    """Archive or reactivate a case."""
    if status not in ("active", "archived"):
        raise CaseError("Unknown case status.")
    case.status = status
    audit.record("case.archive" if status == "archived" else "case.unarchive", "case", case.id)


def delete_case(case: Case, typed_label: str) -> None:
    """Erase a case and every row that belongs to it, after its label is typed exactly."""
    if typed_label.strip() != case.label.strip():
        raise CaseError("The label you typed does not match this case; nothing was deleted.")
    case_id = case.id
    db.session.execute(delete(CounselingSession).where(CounselingSession.case_id == case_id))
    db.session.execute(delete(PartnerRelationship).where(PartnerRelationship.case_id == case_id))
    db.session.execute(delete(Partner).where(Partner.case_id == case_id))
    db.session.delete(case)
    db.session.flush()
    audit.record("case.delete", "case", case_id)


def _lock_sessions(case: Case) -> None:
    """The case's row lock, before a session of it changes: two saves at once then run one
    after the other, and each takes the latest session from what the one before committed
    (without it, each saw its own session only and the last to commit wrote its own time;
    tests/test_last_session_race.py). Taken before the session's row is written: a new
    session's foreign key share-locks the case's row, and two saves each holding that and
    asking for the row lock would deadlock."""
    take_lock(Case, case.id)


def _refresh_last_session(case: Case) -> None:
    """The case's latest session time (the caseload's sort key), from its sessions as they
    stand, under the case's row lock (``_lock_sessions``)."""
    db.session.flush()
    case.last_session_at = db.session.scalar(
        select(func.max(CounselingSession.starts_at)).where(CounselingSession.case_id == case.id)
    )


def save_session(
    case: Case, data: dict, session: CounselingSession | None = None
) -> CounselingSession:
    """Create or update a counseling session from form data (date, time, duration, texts)."""
    created = session is None
    _lock_sessions(case)
    if session is None:
        session = CounselingSession(case_id=case.id)
        db.session.add(session)
    session.starts_at = combine_local(data["date"], data["time"])
    session.duration_minutes = data["duration_minutes"]
    for field in ("agenda", "notes", "next_steps"):
        setattr(session, field, (data.get(field) or "").strip() or None)
    _refresh_last_session(case)
    audit.record(
        "session.create" if created else "session.update", "counseling_session", session.id
    )
    return session


def delete_session(case: Case, session: CounselingSession) -> None:
    """Delete one counseling session and its notes."""
    session_id = session.id
    _lock_sessions(case)
    db.session.delete(session)
    _refresh_last_session(case)
    audit.record("session.delete", "counseling_session", session_id)
