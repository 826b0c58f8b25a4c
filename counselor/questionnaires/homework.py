"""The case page's homework panel, read as plain rows: the page only shows them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from counselor.cases.models import Partner
from counselor.core.sql import json_list, json_rows
from counselor.questionnaires.models import (
    Assignment,
    Questionnaire,
    QuestionnaireVersion,
    Response,
)


@dataclass
class PartnerStatus:
    """Where one assigned partner stands with an assignment."""

    partner: Partner
    #: the response's status (draft, submitted, ...)
    status: str


@dataclass
class Homework:
    """One assignment of a case as its panel lists it."""

    id: uuid.UUID
    title: str
    due_on: date | None
    locked: bool
    released_at: datetime | None
    #: the assigned partners in the case's order
    partners: list[PartnerStatus] = field(default_factory=list)


_a = Assignment.__table__.c
_r = Response.__table__.c


def homework_column(case_id):
    """A case's assignments as one column of its row (``core.sql.json_rows``): a row per
    assignment and assigned partner (one with no partner for an assignment with none), each
    the assignment's id, title, due date, lock, release time and creation time, then the
    partner's id and the response's status. The case page reads it in its case statement."""
    return (
        select(
            json_rows(
                _a.id,
                Questionnaire.__table__.c.title,
                _a.due_on,
                _a.locked,
                _a.released_at,
                _a.created_at,
                _r.partner_id,
                _r.status,
            )
        )
        .select_from(Assignment.__table__)
        .join(QuestionnaireVersion.__table__)
        .join(Questionnaire.__table__)
        .outerjoin(Response.__table__)
        .where(_a.case_id == case_id)
        .scalar_subquery()
    )


def case_homework(column: str | None, partners: dict[uuid.UUID, Partner]) -> list[Homework]:
    """The assignments of a ``homework_column``, newest first (then by id), each with its
    partners' statuses in the case's order; ``partners`` are the case's, by id."""
    listed: dict[str, tuple[datetime, Homework]] = {}
    for aid, title, due_on, locked, released_at, created_at, partner_id, status in json_list(
        column
    ):
        entry = listed.get(aid)
        if entry is None:
            item = Homework(
                uuid.UUID(aid),
                title,
                date.fromisoformat(due_on) if due_on is not None else None,
                bool(locked),
                datetime.fromisoformat(released_at) if released_at is not None else None,
            )
            entry = listed[aid] = (datetime.fromisoformat(created_at), item)
        if partner_id is not None:
            entry[1].partners.append(PartnerStatus(partners[uuid.UUID(partner_id)], status))
    ordered = sorted(listed.values(), key=lambda e: e[1].id)
    ordered.sort(key=lambda e: e[0], reverse=True)
    for _created, item in ordered:
        item.partners.sort(key=lambda s: s.partner.position)
    return [item for _created, item in ordered]
