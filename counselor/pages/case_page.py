"""The case page's read model: what the page shows, read as plain rows and decrypted here.

The page only displays, so nothing is loaded as tracked ORM objects: the case with its
partners, their homes, the relationship map, each partner's consent, its sessions and its
homework (each of those two as one aggregated column) and whether each other panel has
anything to show come in one statement whose WHERE holds the owner check, which on PostgreSQL
writes the read's audit event too (``audit.ReadWithEvent``; SQLite writes it at the commit);
then a statement for each other panel that has rows (none for an empty one). Only
what the page shows is decrypted (the label, the partners' names, pronouns and addresses,
the sessions' agenda and next steps, agreement titles; a session's notes are not even
read). ``tests/test_statement_counts.py`` holds the count.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from flask_login import current_user
from sqlalchemy import bindparam, exists, func, select

from counselor.agreements import views as agreements
from counselor.agreements.models import Agreement
from counselor.alerts import services as alerts
from counselor.alerts.models import Alert
from counselor.alerts.services import AlertCard
from counselor.cases.homes import home_link_state
from counselor.cases.models import (
    Case,
    CounselingSession,
    Partner,
    PartnerHome,
    PartnerRelationship,
)
from counselor.checkins import services as checkins
from counselor.checkins.models import Schedule
from counselor.checkins.services import ScheduleRow
from counselor.consent import services as consent
from counselor.consent.services import ConsentLine
from counselor.core import audit
from counselor.core.models import utcnow
from counselor.core.ownership import not_found
from counselor.core.sql import hex_of, json_list, json_rows
from counselor.questionnaires import homework
from counselor.questionnaires.homework import Homework
from counselor.reports import services as reports
from counselor.reports.models import Export
from counselor.reports.services import ExportLine
from counselor.steps import views as steps
from counselor.steps.models import Ladder


@dataclass
class PartnerLine:
    """A partner as the page shows them (and as the panels name them)."""

    id: uuid.UUID
    position: int
    display_name: str
    pronouns: str | None
    email: str | None


@dataclass
class HomeLine:
    """One partner's line on the partners card: their home link's state and dates."""

    partner: PartnerLine
    #: none, active, expired or revoked (``cases.homes.home_link_state``)
    state: str
    expires_at: datetime | None
    last_opened_at: datetime | None
    mail_opted_out_at: datetime | None
    consent: ConsentLine


@dataclass
class SessionLine:
    """A counseling session on the timeline (its private notes are not read)."""

    id: uuid.UUID
    starts_at: datetime
    duration_minutes: int
    agenda: str | None
    next_steps: str | None


@dataclass
class CaseHead:
    """The case itself as the page shows it."""

    id: uuid.UUID
    label: str
    status: str
    created_at: datetime
    #: in case order
    partners: list[PartnerLine]
    #: newest first
    sessions: list[SessionLine]


@dataclass
class CasePage:
    """The case page: the case (partners, sessions) and each feature's panel."""

    case: CaseHead
    #: per partner, in case order: home link, consent
    homes: list[HomeLine]
    #: the pairs of the relationship map, each in case order, the first partner's first
    related: list[tuple[PartnerLine, PartnerLine]]
    #: homework, newest first, with each assigned partner's status
    assignments: list[Homework]
    #: screening alerts still open (one card per response, the most pressing first)
    open_alerts: list[AlertCard]
    #: closed alert cards with their notes (the history)
    closed_alerts: list[AlertCard]
    #: the case's PDF exports, newest first
    exports: list[ExportLine]
    #: the case's agreements, oldest first
    agreements: list[agreements.PanelLine]
    #: how far the case's ladders of steps are
    steps: steps.CaseSummary
    #: check-in schedules with their next date (running ones first)
    schedules: list[ScheduleRow]


_c, _p, _h = Case.__table__.c, Partner.__table__.c, PartnerHome.__table__.c
_r, _s = PartnerRelationship.__table__.c, CounselingSession.__table__.c


def _has(model, *where):
    """Whether ``model`` has a row of this case (and ``where``): its panel reads it then."""
    table = model.__table__
    return exists().where(table.c.case_id == _c.id, *where).label(f"has_{table.name}")


# Built once per process: making a statement and its cache key costs more CPU than running it
# (README, "Where each page's CPU goes"). The case's own columns (its panels' flags, the
# sessions and the homework panel) are worked out once, in a materialized head: correlated
# in the outer select, each would be run again for every partner row.
_CASE = (
    select(
        _c.id,
        _c.label_sealed,
        _c.status,
        _c.created_at,
        _has(Alert),
        _has(Export, Export.__table__.c.kind != "agreement"),
        _has(Agreement),
        _has(Schedule),
        select(func.count())
        .where(Ladder.__table__.c.case_id == _c.id)
        .scalar_subquery()
        # the steps panel's sentence needs the number of ladders
        .label("ladders"),
        # the sessions and the homework panel: a column each
        select(
            json_rows(
                _s.id,
                _s.starts_at,
                _s.duration_minutes,
                hex_of(_s.agenda_sealed),
                hex_of(_s.next_steps_sealed),
            )
        )
        .where(_s.case_id == _c.id)
        .scalar_subquery()
        .label("sessions"),
        homework.homework_column(_c.id).label("homework"),
    )
    .where(_c.id == bindparam("case_id"), _c.counselor_id == bindparam("owner_id"))
    .cte("head")
    .prefix_with("MATERIALIZED")
)
# One row per partner and pair it leads (at most five), the head's columns on each.
_HEAD = (
    select(
        *_CASE.c,
        _p.id.label("partner_id"),
        _p.position,
        _p.display_name_sealed,
        _p.pronouns_sealed,
        _p.email_sealed,
        _h.token_hash,
        _h.expires_at,
        _h.revoked_at,
        _h.last_opened_at,
        _h.mail_opted_out_at,
        _r.partner_b_id,
        *consent.partner_columns(_p.id),
    )
    .select_from(_CASE)
    .outerjoin(Partner.__table__, _p.case_id == _CASE.c.id)
    .outerjoin(PartnerHome.__table__, _h.partner_id == _p.id)
    .outerjoin(PartnerRelationship.__table__, _r.partner_a_id == _p.id)
    .order_by(_p.position)
)
# On PostgreSQL the same statement writes the read's audit event, from the head: the case's
# row, found only for its counselor
_READ = audit.ReadWithEvent(_HEAD, _CASE)


def _sessions(column: str | None) -> list[SessionLine]:
    """The sessions of the case statement's column, newest first (then by id)."""
    agenda, next_steps = CounselingSession.agenda.opener(), CounselingSession.next_steps.opener()
    sessions = []
    for sid, starts_at, duration, agenda_hex, next_hex in json_list(column):
        key = uuid.UUID(sid)
        sessions.append(
            SessionLine(
                key,
                datetime.fromisoformat(starts_at),
                duration,
                # SQLite's hex() makes '' of NULL, PostgreSQL's encode() NULL
                agenda(bytes.fromhex(agenda_hex), key) if agenda_hex else None,
                next_steps(bytes.fromhex(next_hex), key) if next_hex else None,
            )
        )
    sessions.sort(key=lambda s: s.id)
    sessions.sort(key=lambda s: s.starts_at, reverse=True)
    return sessions


def case_page(case_id: uuid.UUID) -> CasePage:
    """Everything the case page shows of the current counselor's case ``case_id`` (404 for
    anyone else's, or a missing one), its read audited in the same transaction."""
    rows = _READ.rows(
        {"case_id": case_id, "owner_id": current_user.id}, "case.view", "case", case_id
    )
    if not rows:
        not_found("case", case_id)
    head = rows[0]
    partners: dict[uuid.UUID, PartnerLine] = {}
    homes: list[HomeLine] = []
    pairs: dict[uuid.UUID, list[uuid.UUID]] = {}
    for row in rows:
        pid = row.partner_id
        if pid is None:
            continue
        if pid not in partners:
            partner = partners[pid] = PartnerLine(
                pid,
                row.position,
                Partner.display_name.open(row.display_name_sealed, pid),
                Partner.pronouns.open(row.pronouns_sealed, pid),
                Partner.email.open(row.email_sealed, pid),
            )
            homes.append(_home(partner, row))
            pairs[pid] = []
        if row.partner_b_id is not None:
            pairs[pid].append(row.partner_b_id)
    listed = list(partners.values())
    case = CaseHead(
        head.id,
        Case.label.open(head.label_sealed, head.id),
        head.status,
        head.created_at,
        listed,
        _sessions(head.sessions),
    )
    open_alerts, closed_alerts = alerts.case_alert_cards(case) if head.has_alert else ([], [])
    return CasePage(
        case=case,
        homes=homes,
        related=[
            (a, partners[b])
            for a in listed
            for b in sorted(pairs[a.id], key=lambda b: partners[b].position)
        ],
        assignments=homework.case_homework(head.homework, partners),
        open_alerts=open_alerts,
        closed_alerts=closed_alerts,
        exports=reports.case_export_lines(case.id, partners) if head.has_export else [],
        agreements=agreements.case_panel(case.id, listed) if head.has_agreement else [],
        steps=steps.case_summary(case.id, head.ladders),
        schedules=checkins.case_schedules(case.id, listed) if head.has_schedule else [],
    )


def _home(partner: PartnerLine, row) -> HomeLine:
    return HomeLine(
        partner,
        home_link_state(row if row.token_hash is not None else None, utcnow()),
        row.expires_at,
        row.last_opened_at,
        row.mail_opted_out_at,
        consent.line(row),
    )
