"""Loading, the partner view, comparison and release. Functions flush; routes commit.

Alerts are `counselor.alerts`; the CSV and FHIR exports are `counselor.reveal.exports`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import selectinload

# evaluate_alerts is imported from here by the partner portal; it lives in counselor.alerts now
from counselor.alerts.services import evaluate_alerts, open_alerts  # noqa: F401
from counselor.cases.models import Case, Partner
from counselor.core import audit
from counselor.core.models import utcnow
from counselor.extensions import db
from counselor.questionnaires import engine, scoring, signals
from counselor.questionnaires.models import Assignment
from counselor.questionnaires.services import lock_assignment
from counselor.reveal import matching
from counselor.reveal.views import PartnerInfo, PartnerView, partner_view


class ReleaseError(ValueError):
    """A release or withdrawal is not possible now; the message says why (a 409)."""


# ---- loading -------------------------------------------------------------------------


def load_assignment(assignment_id: uuid.UUID) -> Assignment | None:
    """An assignment with its version, case partners and responses in a fixed number of queries."""
    return db.session.scalar(
        select(Assignment)
        .where(Assignment.id == assignment_id)
        .options(
            selectinload(Assignment.responses),
            selectinload(Assignment.version),
            selectinload(Assignment.case).selectinload(Case.partners),
            selectinload(Assignment.case).selectinload(Case.relationships),
        )
    )


def assigned_partners(assignment: Assignment) -> list[Partner]:
    """The partners given this assignment, in case order."""
    ids = {r.partner_id for r in assignment.responses}
    return [p for p in assignment.case.partners if p.id in ids]


def all_submitted(assignment: Assignment) -> bool:
    """Whether every assigned partner has submitted."""
    return bool(assignment.responses) and all(r.status == "submitted" for r in assignment.responses)


def _answers_by_partner(assignment: Assignment) -> dict[uuid.UUID, dict]:
    return {r.partner_id: r.answers for r in assignment.responses}


def _related(case: Case):
    """``case.related`` with the relationship map read once (it is asked per pair and item)."""
    pairs = {r.pair for r in case.relationships}
    return lambda a, b: frozenset((a, b)) in pairs


# ---- the partner view (the only partner-facing path) -----------------------------------


def view_for_partner(
    assignment: Assignment,
    partner_id: uuid.UUID,
    *,
    as_released: bool = False,
    section_index: int | None = None,
    answers: dict | None = None,
) -> PartnerView:
    """What one partner may see of the others, by the reveal rules.

    ``as_released`` asks what the partner would see once released (the counselor's preview);
    it goes through the same filter, only the release flag differs. ``section_index`` keeps
    only that section's items (a long comparison is shown one section at a time).
    """
    partners = [PartnerInfo(p.id, p.display_name) for p in assigned_partners(assignment)]
    viewer = next(p for p in partners if p.key == partner_id)
    return partner_view(
        assignment.definition,
        viewer,
        partners,
        _answers_by_partner(assignment) if answers is None else answers,
        all_submitted=all_submitted(assignment),
        released=as_released or assignment.released_at is not None,
        related=_related(assignment.case),
        section_index=section_index,
    )


def preview_for_partners(
    assignment: Assignment, section_index: int | None = None
) -> list[tuple[Partner, PartnerView]]:
    """For each assigned partner, exactly what their shared page will show after release (of
    one section only, with ``section_index``)."""
    answers = _answers_by_partner(assignment)  # decrypted and parsed once for every partner
    return [
        (
            p,
            view_for_partner(
                assignment, p.id, as_released=True, section_index=section_index, answers=answers
            ),
        )
        for p in assigned_partners(assignment)
    ]


# ---- comparison for the counselor ------------------------------------------------------


@dataclass
class ItemComparison:
    """One item: every partner's answer and, for desire items, the pairwise classes."""

    item: dict
    section: str
    answers: dict[uuid.UUID, object]
    pairs: list[matching.PairResult] = field(default_factory=list)
    #: the section's position (titles repeat: loose items before and after groups have none)
    section_index: int = -1

    @cached_property
    def role_labels(self) -> dict[str, str]:
        """Role key to label (the matrix names the roles of each match)."""
        return {r["key"]: r["label"] for r in self.item.get("roles", ())}

    @property
    def worst(self) -> str | None:
        """The most pressing class among the pairs."""
        return next((c for c in matching.CLASS_ORDER if c in self.classes), None)

    @property
    def classes(self) -> set[str]:
        """Every class any pair has on this item (what the class filter looks for)."""
        return {c for p in self.pairs for c in p.classes}


@dataclass
class PartnerScores:
    """One partner's scores, as the score cards show them."""

    partner: Partner
    scores: list[scoring.Score]


@dataclass
class Comparison:
    """Everything the comparison page shows."""

    partners: list[Partner]
    #: the pairs compared: partners in a relationship with each other, in case order
    pairs: list[tuple[Partner, Partner]]
    items: list[ItemComparison]
    counts: dict[str, int]
    #: per partner, the definition's scored measures (counselor-facing)
    scores: list[PartnerScores] = field(default_factory=list)

    def rows_in(self, section_index: int, wanted: str = "") -> list[ItemComparison]:
        """The rows of one section; with a class, only the desire items that have it."""
        return [
            r
            for r in self.items
            if r.section_index == section_index and (not wanted or wanted in r.classes)
        ]

    @property
    def cells(self) -> int:
        """How many answer and matrix cells the whole comparison has (what a page costs)."""
        return len(self.items) * (len(self.partners) + len(self.pairs))

    def section_counts(self, wanted: str = "") -> dict[int, int]:
        """Per section index, its rows (with a class, its desire items that have it)."""
        out: dict[int, int] = {}
        for r in self.items:
            if not wanted or wanted in r.classes:
                out[r.section_index] = out.get(r.section_index, 0) + 1
        return out

    def collisions_in(self) -> dict[int, int]:
        """Per section index, its items where a yes runs into a hard limit."""
        return self.section_counts("limit_collision")

    @property
    def names(self) -> dict[uuid.UUID, str]:
        """Partner id to the name shown."""
        return {p.id: p.display_name for p in self.partners}


def compare(assignment: Assignment) -> Comparison:
    """Side-by-side answers, and desire classes for every pair of assigned partners who are in a
    relationship with each other (the case's relationship map)."""
    defn = assignment.definition
    partners = assigned_partners(assignment)
    answers = _answers_by_partner(assignment)
    shown = {p.id: engine.visible_answers(defn, answers.get(p.id, {})) for p in partners}
    related = _related(assignment.case)
    pair_ids = matching.related_pairs([p.id for p in partners], related)
    items: list[ItemComparison] = []
    for section in defn.sections:
        for item in engine.walk(section.items):
            if item["type"] not in engine.ANSWERABLE:
                continue
            row = ItemComparison(
                item,
                section.title,
                {p.id: shown[p.id].get(item["link_id"]) for p in partners},
                section_index=section.index,
            )
            if item["type"] == "desire":
                row.pairs = matching.compare_item_pairs(item, row.answers, pair_ids)
            items.append(row)
    pairs = matching.related_pairs(partners, lambda a, b: related(a.id, b.id))
    # an item counts once under each class any of its pairs has: the number beside a class is
    # the number of rows its filter shows
    counts = {c: sum(1 for row in items if c in row.classes) for c in matching.CLASS_ORDER}
    scored = [PartnerScores(p, scoring.scores(defn, shown[p.id])) for p in partners]
    return Comparison(partners, pairs, items, counts, scored)


# ---- release -----------------------------------------------------------------------------


def release(assignment: Assignment, confirmed_alerts: set[uuid.UUID] | None = None) -> None:
    """Show partners the shared view; only once everyone has submitted, and with open alerts
    of the case only when the counselor confirmed each of them by name."""
    lock_assignment(assignment)  # a partner's reopen or save waits, or we see its result
    if assignment.released_at is not None:
        raise ReleaseError("This assignment is already released.")
    if not all_submitted(assignment):
        raise ReleaseError("Every assigned partner must submit before you can release the results.")
    # An alert raised after the page was shown is not covered by the confirmation given on it.
    unconfirmed = [
        v for v in open_alerts(assignment.case) if v.alert.id not in (confirmed_alerts or set())
    ]
    if unconfirmed:
        named = "; ".join(f"{v.alert.partner.display_name}: {v.message}" for v in unconfirmed)
        raise ReleaseError(
            "This case has open screening alerts. Read them and confirm you still want to "
            f"release: {named}"
        )
    assignment.released_at = utcnow()
    audit.record("assignment.release", "assignment", assignment.id)
    signals.results_released.send(assignment)


def withdraw(assignment: Assignment) -> None:
    """Hide the shared view again."""
    lock_assignment(assignment)
    if assignment.released_at is None:
        raise ReleaseError("This assignment is not released.")
    assignment.released_at = None
    audit.record("assignment.withdraw", "assignment", assignment.id)
