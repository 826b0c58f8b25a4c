"""Loading, the partner view, comparison and release. Functions flush; routes commit.

Alerts are `counselor.alerts`; the CSV and FHIR exports are `counselor.reveal.exports`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

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
from counselor.reveal.summary import Summary, SummaryCache, summarize
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


def answers_by_partner(assignment: Assignment) -> dict[uuid.UUID, dict]:
    """Each partner's answers, decrypted and parsed (each read of ``Response.answers`` parses
    anew: a page that needs them twice asks once and passes them on)."""
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
    sections: Collection[int] | None = None,
    answers: dict | None = None,
    states: dict | None = None,
) -> PartnerView:
    """What one partner may see of the others, by the reveal rules.

    ``as_released`` asks what the partner would see once released (the counselor's preview);
    it goes through the same filter, only the release flag differs. ``section_index`` keeps
    only that section's items, ``sections`` only those sections' (a long comparison is shown a
    section or a class at a time).
    """
    if section_index is not None:
        sections = {section_index}
    partners = [PartnerInfo(p.id, p.display_name) for p in assigned_partners(assignment)]
    viewer = next(p for p in partners if p.key == partner_id)
    return partner_view(
        assignment.definition,
        viewer,
        partners,
        answers_by_partner(assignment) if answers is None else answers,
        all_submitted=all_submitted(assignment),
        released=as_released or assignment.released_at is not None,
        related=_related(assignment.case),
        sections=sections,
        states=states,
    )


def preview_for_partners(
    assignment: Assignment,
    sections: Collection[int] | None = None,
    answers: dict | None = None,
    states: dict | None = None,
) -> list[tuple[Partner, PartnerView]]:
    """For each assigned partner, exactly what their shared page will show after release (of
    only some sections, by index, with ``sections``). ``answers`` and ``states``: as
    ``answers_by_partner`` and ``Comparison.states`` give them, when the caller has them."""
    if answers is None:
        answers = answers_by_partner(assignment)  # decrypted and parsed once for every partner
    partners = assigned_partners(assignment)
    if states is None:
        defn = assignment.definition
        states = {p.id: engine.enabled_states(defn, answers.get(p.id) or {}) for p in partners}
    return [
        (
            p,
            view_for_partner(
                assignment,
                p.id,
                as_released=True,
                sections=sections,
                answers=answers,
                states=states,
            ),
        )
        for p in partners
    ]


# ---- comparison for the counselor ------------------------------------------------------


class Cell(NamedTuple):
    """One pair's cell of the matrix, as the page shows it (worked out here, not per cell in
    the template)."""

    cls: str
    label: str
    #: the pair's other classes, (class, label)
    also: tuple[tuple[str, str], ...]
    #: who leads or gives in the pair's matches and limits
    lines: list[str]
    #: the two partners' ids
    a: uuid.UUID
    b: uuid.UUID


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

    @cached_property
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
    """Everything the comparison page shows. The counts and the section list come from the
    summary of the whole assignment; the rows of a section are built when first asked for,
    so that a page of one section classifies and renders only that section."""

    partners: list[Partner]
    #: the pairs compared: partners in a relationship with each other, in case order
    pairs: list[tuple[Partner, Partner]]
    summary: Summary
    #: per partner, the definition's scored measures (counselor-facing)
    scores: list[PartnerScores]
    definition: engine.Definition
    #: per partner id, the answers of the items shown for their answers
    shown: dict[uuid.UUID, dict]
    #: per partner id, which items their answers show (``engine.enabled_states``)
    states: dict[uuid.UUID, dict[str, bool]]
    _rows: dict[int, list[ItemComparison]] = field(default_factory=dict, repr=False)

    @property
    def counts(self) -> Mapping[str, int]:
        """Per class, how many desire items have it in some pair (whole questionnaire)."""
        return self.summary.counts

    def section_rows(self, section_index: int) -> list[ItemComparison]:
        """Every row of one section, classified for every pair."""
        rows = self._rows.get(section_index)
        if rows is None:
            section = self.definition.sections[section_index]
            pair_ids = [(a.id, b.id) for a, b in self.pairs]
            rows = []
            for item in engine.walk(section.items):
                if item["type"] not in engine.ANSWERABLE:
                    continue
                lid = item["link_id"]
                row = ItemComparison(
                    item,
                    section.title,
                    {p.id: self.shown[p.id].get(lid) for p in self.partners},
                    section_index=section_index,
                )
                if item["type"] == "desire":
                    row.pairs = matching.compare_item_pairs(item, row.answers, pair_ids)
                rows.append(row)
            self._rows[section_index] = rows
        return rows

    def cells_of(self, row: ItemComparison) -> list[Cell]:
        """A desire row's matrix cells, one per pair."""
        labels, names = matching.CLASS_LABELS, self.names
        return [
            Cell(
                pr.cls,
                labels[pr.cls],
                tuple((c, labels[c]) for c in pr.classes if c != pr.cls),
                matching.who_does_what(row.item, pr, names[pr.partner_a], names[pr.partner_b]),
                pr.partner_a,
                pr.partner_b,
            )
            for pr in row.pairs
        ]

    def rows_in(self, section_index: int, wanted: str = "") -> list[ItemComparison]:
        """The rows of one section; with a class, only the desire items that have it."""
        rows = self.section_rows(section_index)
        return [r for r in rows if wanted in r.classes] if wanted else rows

    def desire_rows(self, sections: set[int], wanted: str = "") -> list[ItemComparison]:
        """The desire rows of these sections (the matrix), with a class only those with it."""
        return [
            r
            for s in self.definition.sections
            if s.index in sections
            for r in self.rows_in(s.index, wanted)
            if r.pairs
        ]

    @property
    def items(self) -> list[ItemComparison]:
        """Every row of the whole questionnaire (the exports and the clinical record)."""
        return [r for s in self.definition.sections for r in self.section_rows(s.index)]

    @property
    def cells_per_row(self) -> int:
        """Answer and matrix cells of one row: one per partner and one per pair."""
        return len(self.partners) + len(self.pairs)

    @property
    def cells(self) -> int:
        """How many answer and matrix cells the whole comparison has (what a page costs)."""
        return self.summary.row_count * self.cells_per_row

    def section_counts(self, wanted: str = "") -> Mapping[int, int]:
        """Per section index, its rows (with a class, its desire items that have it)."""
        return self.summary.section_counts(wanted)

    def collisions_in(self) -> Mapping[int, int]:
        """Per section index, its items where a yes runs into a hard limit."""
        return self.summary.section_counts("limit_collision")

    @cached_property
    def names(self) -> dict[uuid.UUID, str]:
        """Partner id to the name shown."""
        return {p.id: p.display_name for p in self.partners}


#: per process: the summaries of submitted assignments (see counselor.reveal.summary)
SUMMARIES = SummaryCache()


def _summary(assignment: Assignment, defn, shown: dict, pair_ids: list[tuple]) -> Summary:
    """The whole assignment's summary; kept per process once every partner has submitted,
    under a key naming everything it is computed from: the version and its chosen sections,
    each response's revision (bumped by every UPDATE of a response: a save, submit, reopen or
    answer upgrade) and status, and the pairs compared (partner order and relationship map).
    Drafts change at every autosave and are classified anew on each request."""
    if not all_submitted(assignment):
        return summarize(defn, shown, pair_ids)
    key = (
        assignment.id,
        assignment.version_id,
        tuple(assignment.sections or ()),
        tuple(sorted((r.id, r.revision, r.status) for r in assignment.responses)),
        tuple(pair_ids),
    )
    return SUMMARIES.get(key, lambda: summarize(defn, shown, pair_ids))


def compare(assignment: Assignment, answers: dict | None = None) -> Comparison:
    """Side-by-side answers, and desire classes for every pair of assigned partners who are in a
    relationship with each other (the case's relationship map). ``answers`` (each partner's,
    decrypted) saves decrypting them again when the caller has them."""
    defn = assignment.definition
    partners = assigned_partners(assignment)
    answers = answers_by_partner(assignment) if answers is None else answers
    states = {p.id: engine.enabled_states(defn, answers.get(p.id) or {}) for p in partners}
    shown = {
        p.id: engine.visible_answers(defn, answers.get(p.id) or {}, states[p.id]) for p in partners
    }
    related = _related(assignment.case)
    pairs = matching.related_pairs(partners, lambda a, b: related(a.id, b.id))
    pair_ids = [(a.id, b.id) for a, b in pairs]
    scored = [PartnerScores(p, scoring.scores(defn, shown[p.id])) for p in partners]
    return Comparison(
        partners, pairs, _summary(assignment, defn, shown, pair_ids), scored, defn, shown, states
    )


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
