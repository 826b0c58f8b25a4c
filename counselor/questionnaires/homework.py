"""The case page's homework panel, read as plain rows: the page only shows them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import bindparam, select

from counselor.cases.models import Case, Partner
from counselor.extensions import db
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
_HOMEWORK = (
    select(_a.id, Questionnaire.__table__.c.title, _a.due_on, _a.locked, _a.released_at)
    .add_columns(_r.partner_id, _r.status)
    .select_from(Assignment.__table__)
    .join(QuestionnaireVersion.__table__)
    .join(Questionnaire.__table__)
    .outerjoin(Response.__table__)
    .where(_a.case_id == bindparam("case_id"))
    .order_by(_a.created_at.desc(), _a.id)
)


def case_homework(case: Case) -> list[Homework]:
    """A case's assignments, newest first, each with its partners' statuses (one statement;
    the partners are the case's, which the page loads anyway)."""
    partners = {p.id: p for p in case.partners}
    listed: dict[uuid.UUID, Homework] = {}
    for row in db.session.execute(_HOMEWORK, {"case_id": case.id}):
        item = listed.get(row.id)
        if item is None:
            item = listed[row.id] = Homework(*row[:5])
        if row.partner_id is not None:
            item.partners.append(PartnerStatus(partners[row.partner_id], row.status))
    for item in listed.values():
        item.partners.sort(key=lambda s: s.partner.position)
    return list(listed.values())
