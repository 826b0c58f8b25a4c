"""Case, partner and counseling-session operations. Functions flush; routes commit."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from itertools import combinations

from sqlalchemy import Integer, bindparam, delete, func, select, type_coerce
from sqlalchemy import case as sa_case
from sqlalchemy.orm import selectinload
from sqlalchemy.types import TypeEngine

from counselor.auth.models import Counselor
from counselor.cases.models import (
    MAX_PARTNERS,
    Case,
    CounselingSession,
    Partner,
    PartnerRelationship,
)
from counselor.core import audit
from counselor.core.models import aware, combine_local, utcnow
from counselor.core.ownership import get_owned_or_404
from counselor.extensions import core_execute, db


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


#: cases on one caseload page: the page stays small however large the caseload grows
PAGE_SIZE = 50


@dataclass
class CaseRow:
    """One case as the caseload lists it: read as plain columns and decrypted here (the
    caseload is every counselor page's start; tracked ORM objects cost it twice the time)."""

    id: uuid.UUID
    label: str
    status: str
    last_session_at: datetime | None
    #: the partners' names, in case order
    partners: list[str]

    @property
    def session_booked_ahead(self) -> bool:
        """Whether the case's latest session is still to come (booked ahead), so the caseload
        does not call a future date the last session."""
        return self.last_session_at is not None and aware(self.last_session_at) > utcnow()


@dataclass
class CaseloadPage:
    """One page of the caseload, with what the page links need."""

    cases: list[CaseRow]
    page: int
    pages: int
    total: int
    #: flagged case id -> (rank, kind); the caller passes them (open alerts, see pages.read_models)
    flagged: dict[uuid.UUID, tuple[int, str]] = dc_field(default_factory=dict)

    @property
    def first(self) -> int:
        """Position of the first case on this page (1-based), 0 when there is none."""
        return (self.page - 1) * PAGE_SIZE + 1 if self.cases else 0

    @property
    def last(self) -> int:
        """Position of the last case on this page."""
        return self.first + len(self.cases) - 1 if self.cases else 0


_CASE = Case.__table__
_PARTNER = Partner.__table__


class _IdText(TypeEngine):
    """A UUID column read as its text (``str(uuid)``), for ids a page only writes into the
    associated data of a sealed value: SQLite's hex is cut into the dashed form directly
    instead of making a ``uuid.UUID`` first (a caseload reads one id per partner)."""

    cache_ok = True

    def result_processor(self, dialect, coltype):
        if dialect.supports_native_uuid:  # the driver hands back uuid.UUID
            return lambda v: None if v is None else str(v)
        return lambda v: None if v is None else f"{v[:8]}-{v[8:12]}-{v[12:16]}-{v[16:20]}-{v[20:]}"


def _caseload_query(
    counselor: Counselor, status: str, flagged: dict[uuid.UUID, tuple[int, str]]
) -> tuple[tuple[str, tuple[int, ...]], dict]:
    """The caseload statement's key for ``_caseload_statement`` and its parameters."""
    by_rank: dict[int, list[uuid.UUID]] = {}
    for case_id, (rank, _kind) in flagged.items():
        by_rank.setdefault(rank, []).append(case_id)
    params = {f"rank{rank}": ids for rank, ids in by_rank.items()}
    params["counselor_id"] = counselor.id
    status = status if status in ("active", "archived") else "all"
    return (status, tuple(sorted(by_rank))), params


def _caseload_order(ranks: tuple[int, ...]) -> list:
    """Caseload order: flagged first by rank, latest session, newest case (then id, so that
    pages never overlap)."""
    c = _CASE.c
    order = [c.last_session_at.desc().nulls_last(), c.created_at.desc(), c.id]
    if ranks:
        # one IN list per rank (a handful), not one WHEN per case
        whens = [(c.id.in_(bindparam(f"rank{rank}", expanding=True)), rank) for rank in ranks]
        order.insert(0, sa_case(*whens, else_=max(ranks) + 1))
    return order


def _counselors_cases(status: str, *columns):
    """The counselor's cases (of ``status`` unless "all") as ``columns``."""
    c = _CASE.c
    stmt = select(*columns).where(c.counselor_id == bindparam("counselor_id"))
    return stmt.where(c.status == status) if status != "all" else stmt


@functools.cache
def _caseload_statement(status: str, ranks: tuple[int, ...], page: bool = False):
    """The counselor's cases in caseload order as the columns the caseload shows, one row per
    partner (in case order), in one statement: with ``page``, only the cases of one page
    (``offset`` a parameter) and the count of all of them (a scalar subquery).

    No window function: SQLite materialises and sorts every case of the counselor for one
    (about 5 ms at 1,000 cases, which made the page grow with the caseload), while ORDER BY
    with LIMIT keeps only a page's rows. The outer query orders by the same keys, carried
    out of the subquery.

    Built once per process for each status and set of flag ranks (a handful), with the ids
    as parameters: making a statement and its cache key costs more CPU than running it
    (README, "Where each page's CPU goes").
    """
    c = _CASE.c
    order = _caseload_order(ranks)
    columns = [c.id, c.label_sealed, c.status, c.last_session_at]
    keys = [c.created_at.label("created_at")]
    if ranks:
        keys.append(order[0].label("rank"))
    cases = _counselors_cases(status, *columns, *keys)
    if page:
        total = _counselors_cases(status, func.count()).scalar_subquery().label("total")
        cases = cases.add_columns(total)
        cases = cases.order_by(*order).limit(PAGE_SIZE).offset(bindparam("offset", type_=Integer))
    cases = cases.subquery("cases")
    k = cases.c
    outer_order = [
        *((k.rank,) if ranks else ()),
        k.last_session_at.desc().nulls_last(),
        k.created_at.desc(),
        k.id,
    ]
    p = _PARTNER.c
    return (
        select(
            *(k[col.key] for col in columns),
            *((k.total,) if page else ()),
            type_coerce(p.id, _IdText()).label("partner_id"),
            p.display_name_sealed,
        )
        .outerjoin_from(cases, _PARTNER, p.case_id == k.id)
        .order_by(*outer_order, p.position)
    )


def _case_rows(rows) -> list[CaseRow]:
    """The cases of rows of ``_caseload_statement`` (one per partner), their labels and
    partners' names decrypted."""
    label, name = Case.label.opener(), Partner.display_name.opener()
    cases: list[CaseRow] = []
    case_id = None
    for row in rows:
        if row.id != case_id:
            case_id = row.id
            cases.append(
                CaseRow(
                    case_id, label(row.label_sealed, case_id), row.status, row.last_session_at, []
                )
            )
        if row.partner_id is not None:
            cases[-1].partners.append(name(row.display_name_sealed, row.partner_id))
    return cases


def _read(statement, params: dict) -> list:
    """Run a Core statement on the session's connection (its transaction): the ORM session's
    execute adds nothing to a statement that loads no objects but its own bookkeeping."""
    return core_execute(statement, params).all()


def _matches(case: CaseRow, needle: str) -> bool:
    return needle in case.label.casefold() or any(needle in n.casefold() for n in case.partners)


def list_cases(
    counselor: Counselor,
    query: str = "",
    status: str = "active",
    flagged: dict[uuid.UUID, tuple[int, str]] | None = None,
) -> list[CaseRow]:
    """Every case of the counselor matching status and a search over label and partner names.

    Labels and names are encrypted, so a search decrypts every label and partner name of
    the counselor's cases (about 20 ms per 1,000 cases) and filters in Python.
    """
    key, params = _caseload_query(counselor, status, flagged or {})
    cases = _case_rows(_read(_caseload_statement(*key), params))
    needle = query.strip().casefold()
    return [c for c in cases if _matches(c, needle)] if needle else cases


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


@functools.cache
def _count_statement(status: str):
    return _counselors_cases(status, func.count())


def caseload_page(
    counselor: Counselor,
    query: str = "",
    status: str = "active",
    page: int = 1,
    flagged: dict[uuid.UUID, tuple[int, str]] | None = None,
) -> CaseloadPage:
    """One page of the caseload in caseload order; ``flagged`` cases (open alerts) come first.

    Without a search the database sorts and cuts the page, so only the page's cases are
    loaded and decrypted. A search must decrypt all labels and names first (see list_cases).
    """
    flagged = flagged or {}
    if query.strip():
        matching = list_cases(counselor, query, status, flagged)
        total = len(matching)
        page = _clamp(page, total)
        cases = matching[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        return CaseloadPage(cases, page, _pages(total), total, flagged)
    key, params = _caseload_query(counselor, status, flagged)
    # The page's cases with their partners and the count of all in one statement; a page
    # past the end is asked again, clamped.
    counted = _caseload_statement(*key, page=True)
    rows = _read(counted, {**params, "offset": (max(page, 1) - 1) * PAGE_SIZE})
    if not rows and page > 1:
        total = _read(_count_statement(key[0]), params)[0][0]
        page = _clamp(page, total)
        if total:
            rows = _read(counted, {**params, "offset": (page - 1) * PAGE_SIZE})
    total = rows[0].total if rows else 0
    page = _clamp(page, total)
    return CaseloadPage(_case_rows(rows), page, _pages(total), total, flagged)


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def _clamp(page: int, total: int) -> int:
    return min(max(page, 1), _pages(total))


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


def _refresh_last_session(case: Case) -> None:
    db.session.flush()
    case.last_session_at = db.session.scalar(
        select(func.max(CounselingSession.starts_at)).where(CounselingSession.case_id == case.id)
    )


def save_session(
    case: Case, data: dict, session: CounselingSession | None = None
) -> CounselingSession:
    """Create or update a counseling session from form data (date, time, duration, texts)."""
    created = session is None
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
    db.session.delete(session)
    _refresh_last_session(case)
    audit.record("session.delete", "counseling_session", session_id)
