"""The comparison's head, read as plain rows: what the first page of a long comparison (its
overview) shows, and what tells whether a comparison is long.

The overview shows no answer: the case's label, the assigned partners' names, the release
state and the summary's counts (kept per process once everyone has submitted). So nothing is
loaded as tracked ORM objects: the assignment with its case (the owner check in the WHERE:
another counselor's case is the same audited 404 as ``get_owned_or_404``), its version's id
and checksum, the assigned partners with their responses' status and revision, and the
relationship map come in one statement. The answers are read and decrypted only when
something shown needs them (a summary not kept yet, drafts, score cards), by one more.
Every page of the comparison reads its head this way (a section's page, a short comparison,
``?section=all``, a partner's preview), and the answers by that one statement more, when
what the page shows needs them (a long preview's contents, whose outline is kept per process,
needs none): none loads ORM objects.
``tests/test_statement_counts.py`` holds the counts.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, partial

from flask_login import current_user
from sqlalchemy import and_, bindparam, select

from counselor.cases.models import Case, Partner, PartnerRelationship
from counselor.core.ownership import not_found
from counselor.extensions import core_execute
from counselor.questionnaires.engine import Definition
from counselor.questionnaires.models import (
    Assignment,
    QuestionnaireVersion,
    Response,
    StoredAnswers,
    VersionRow,
)
from counselor.reveal import services
from counselor.reveal.comparison import Comparison
from counselor.reveal.views import PartnerReader, partner_reader


@dataclass(frozen=True)
class PartnerLine:
    """An assigned partner as the comparison names them."""

    id: uuid.UUID
    display_name: str


@dataclass(frozen=True)
class ResponseLine:
    """An assigned partner's response, without its answers."""

    id: uuid.UUID
    partner_id: uuid.UUID
    status: str
    revision: int


@dataclass(frozen=True)
class CaseLine:
    """The case as the comparison's pages name it."""

    id: uuid.UUID
    label: str


@dataclass
class AssignmentLine:
    """The assignment as the comparison's head needs it (the page's ``assignment``)."""

    id: uuid.UUID
    released_at: datetime | None
    sections: list[str] | None
    version: VersionRow
    responses: list[ResponseLine]

    @cached_property
    def definition(self) -> Definition:
        """The version's definition with only the chosen sections (``Assignment.definition``)."""
        return self.version.definition.only(self.sections)


@dataclass
class Head:
    """The case, the assignment, the assigned partners in case order and the relationship
    map's pairs among them."""

    case: CaseLine
    assignment: AssignmentLine
    partners: list[PartnerLine]
    related: set[frozenset]

    @property
    def all_submitted(self) -> bool:
        """Whether every assigned partner has submitted (``services.all_submitted``)."""
        responses = self.assignment.responses
        return bool(responses) and all(r.status == "submitted" for r in responses)

    @cached_property
    def pair_count(self) -> int:
        """How many pairs of assigned partners are compared."""
        ids = [p.id for p in self.partners]
        return sum(
            frozenset((a, b)) in self.related for n, a in enumerate(ids) for b in ids[n + 1 :]
        )

    @property
    def summary_key(self) -> tuple | None:
        """``services.summary_key`` of the assignment (None until every partner submitted)."""
        a = self.assignment
        return services.summary_key(
            a.id, a.version.id, a.sections, ((r.id, r.revision, r.status) for r in a.responses)
        )

    def comparison(self) -> Comparison:
        """The comparison, as ``services.compare`` makes it of the loaded assignment; the
        answers are read (and decrypted) only if it needs them."""
        a, related = self.assignment, self.related
        return services.comparison(
            a.definition,
            self.partners,
            lambda x, y: frozenset((x, y)) in related,
            services.PartedAnswers(partial(_stored_answers, a.id)),
            self.summary_key,
        )

    def reader(self, partner_id: uuid.UUID, *, as_released: bool) -> PartnerReader:
        """One assigned partner's view (``services.reader_for_partner``): the answers are read
        sealed by one statement when the view first reads them, and only the viewer's and
        their related partners' are decrypted, and parsed only as far as the page's sections
        read them; the outline, kept per process once everyone has submitted, reads none."""
        a, related = self.assignment, self.related
        return partner_reader(
            **services.view_inputs(
                a.definition,
                self.partners,
                partner_id,
                services.PartedAnswers(partial(_stored_answers, a.id)),
                all_submitted=self.all_submitted,
                released=as_released or a.released_at is not None,
                related=lambda x, y: frozenset((x, y)) in related,
                key=self.summary_key,
            )
        )


_a, _c, _p = Assignment.__table__.c, Case.__table__.c, Partner.__table__.c
_r, _m = Response.__table__.c, PartnerRelationship.__table__.c
_v = QuestionnaireVersion.__table__.c

# Built once per process: making a statement and its cache key costs more CPU than running it
# (README, "Where each page's CPU goes"). One row per assigned partner and pair it leads.
_HEAD = (
    select(
        _a.id,
        _a.version_id,
        _a.sections,
        _a.released_at,
        _c.id.label("case_id"),
        _c.label_sealed,
        _v.checksum,
        _p.id.label("partner_id"),
        _p.display_name_sealed,
        _r.id.label("response_id"),
        _r.status,
        _r.revision,
        _m.partner_b_id,
    )
    .select_from(Assignment.__table__)
    .join(Case.__table__, _c.id == _a.case_id)
    .join(QuestionnaireVersion.__table__, _v.id == _a.version_id)
    .outerjoin(Response.__table__, _r.assignment_id == _a.id)
    .outerjoin(Partner.__table__, and_(_p.id == _r.partner_id, _p.case_id == _c.id))
    .outerjoin(PartnerRelationship.__table__, _m.partner_a_id == _p.id)
    .where(
        _a.id == bindparam("assignment_id"),
        _a.case_id == bindparam("case_id"),
        _c.counselor_id == bindparam("owner_id"),
    )
    .order_by(_p.position)
)
_ANSWERS = select(_r.id, _r.partner_id, _r.answers_json_sealed).where(
    _r.assignment_id == bindparam("assignment_id")
)


def head(case_id: uuid.UUID, assignment_id: uuid.UUID) -> Head:
    """The comparison's head of the current counselor's assignment (404 for anyone else's, or
    a missing one, the denial audited as ``get_owned_or_404`` audits it)."""
    params = {"assignment_id": assignment_id, "case_id": case_id, "owner_id": current_user.id}
    rows = core_execute(_HEAD, params).all()
    if not rows:
        not_found(Assignment.__tablename__, assignment_id)
    first = rows[0]
    name = Partner.display_name.opener()
    partners: dict[uuid.UUID, PartnerLine] = {}
    responses: list[ResponseLine] = []
    related: set[frozenset] = set()
    for row in rows:
        pid = row.partner_id
        if pid is None:
            continue
        if pid not in partners:
            partners[pid] = PartnerLine(pid, name(row.display_name_sealed, pid))
            responses.append(ResponseLine(row.response_id, pid, row.status, row.revision))
        if row.partner_b_id is not None:
            related.add(frozenset((pid, row.partner_b_id)))
    assignment = AssignmentLine(
        first.id,
        first.released_at,
        first.sections,
        VersionRow(first.version_id, first.checksum),
        responses,
    )
    case = CaseLine(first.case_id, Case.label.open(first.label_sealed, first.case_id))
    return Head(case, assignment, list(partners.values()), related)


def _stored_answers(assignment_id: uuid.UUID) -> dict[uuid.UUID, Callable[[], StoredAnswers]]:
    """Each assigned partner's answers, read sealed (one statement), each decrypted when first
    asked for, to be parsed a part at a time (``services.PartedAnswers``)."""
    opener = Response.answers_json.opener(as_bytes=True)
    rows = core_execute(_ANSWERS, {"assignment_id": assignment_id})
    return {row.partner_id: partial(_opened, opener, row) for row in rows}


def _opened(opener: Callable, row) -> StoredAnswers:
    return StoredAnswers(opener(row.answers_json_sealed, row.id))
