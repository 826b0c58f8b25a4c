"""The comparison page's read model: every partner's answers side by side, the desire classes
of each pair, and what the overview of a long comparison lists. Pure: no Flask, no database
(``counselor.reveal.services.compare`` builds it from an assignment)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

from markupsafe import Markup, escape

from counselor.questionnaires import engine, scoring
from counselor.questionnaires.answer_html import answer_html
from counselor.reveal import matching
from counselor.reveal.matching import CLASS_LABELS
from counselor.reveal.summary import Summary

#: a case's partner (``counselor.cases.models.Partner``): anything with ``id`` and
#: ``display_name``; this module does not import the models (it is pure)
Partner = Any


#: a class's badge in a matrix cell that leads with it, and as one of the cell's other classes
#: (constants: written out once, not escaped per cell)
_LEAD = {
    c: f'<span class="cls cls-{c}">{escape(label)}</span>' for c, label in CLASS_LABELS.items()
}
_ALSO = {
    c: f' <span class="cls cls-{c} cls-also">{escape(label)}</span>'
    for c, label in CLASS_LABELS.items()
}


def _built(html: str) -> Markup:
    """Markup assembled in this module: constant tags, and texts passed through ``escape``."""
    return Markup(html)  # noqa: S704 - every text in it was escaped here


@cache  # a pair has one of a few dozen combinations of classes
def _badges(classes: tuple[str, ...], lead: str) -> str:
    """A cell's badges: the class it leads with, then its other classes."""
    return _LEAD[lead] + "".join(_ALSO[c] for c in classes if c != lead)


def _cell(classes: tuple[str, ...], lead: str, lines: list[str]) -> str:
    """One pair's matrix cell: its classes and who leads or gives in its matches and limits."""
    if not lines:
        return f'<td class="cell">{_badges(classes, lead)}</td>'
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return (
        f'<td class="cell">{_badges(classes, lead)}'
        f'<ul class="who-does-what list-unstyled small mb-0 mt-1">{items}</ul></td>'
    )


@dataclass
class ItemComparison:
    """One item: every partner's answer and, for desire items, the pairwise classes."""

    item: dict
    section: str
    answers: dict[uuid.UUID, object]
    pairs: list[matching.PairResult] = field(default_factory=list)
    #: the section's position (titles repeat: loose items before and after groups have none)
    section_index: int = -1

    @property
    def link_id(self) -> str:
        """The item's link id (the page's anchors)."""
        return self.item["link_id"]

    @property
    def text(self) -> str:
        """The item's question."""
        return self.item["text"]

    @cached_property
    def share(self) -> str:
        """Who may see the item's answers: counselor_only, mutual or shared."""
        return engine.share_of(self.item)

    @cached_property
    def role_labels(self) -> dict[str, str]:
        """Role key to label (the matrix names the roles of each match)."""
        return matching.role_labels(self.item)

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


@dataclass(frozen=True)
class SectionEntry:
    """One section of a long comparison's overview: a link to its page and what is in it."""

    index: int
    #: the number shown and asked for (``?section=N``)
    number: int
    title: str
    rows: int
    collisions: int
    mismatches: int
    #: its desire items in the class the page is filtered by (0 without a filter)
    in_class: int


@dataclass(frozen=True)
class Flag:
    """One item of *Needs attention first*: its text, where it is, and which pairs."""

    link_id: str
    text: str
    number: int
    #: the pairs that have it ("" when only one pair is compared)
    pairs: str


@dataclass(frozen=True)
class Attention:
    """One class of *Needs attention first* with its first items."""

    cls: str
    total: int
    flags: list[Flag]


class Visible:
    """Each partner's answers, decrypted and parsed on first use, and which of them their
    answers show: a page that needs no answer (the overview of a submitted assignment, whose
    summary is kept per process) decrypts none."""

    def __init__(self, defn: engine.Definition, partners: list[Partner], load: Callable[[], dict]):
        self.definition, self.partners, self._load = defn, partners, load

    @cached_property
    def answers(self) -> dict[uuid.UUID, dict]:
        """Per partner id, their answers."""
        return self._load()

    @cached_property
    def states(self) -> dict[uuid.UUID, dict[str, bool]]:
        """Per partner id, ``engine.enabled_states`` of their answers."""
        defn, answers = self.definition, self.answers
        return {p.id: engine.enabled_states(defn, answers.get(p.id) or {}) for p in self.partners}

    @cached_property
    def shown(self) -> dict[uuid.UUID, dict]:
        """Per partner id, the answers of the items shown for their answers."""
        defn, answers, states = self.definition, self.answers, self.states
        return {
            p.id: engine.visible_answers(defn, answers.get(p.id) or {}, states[p.id])
            for p in self.partners
        }

    def of_item(self, link_id: str) -> dict[uuid.UUID, Any]:
        """Per partner id, their answer to one item if their answers show it (else None): as
        ``shown`` has it, for a page of one section without the whole questionnaire's."""
        answers, states = self.answers, self.states
        out = {}
        for p in self.partners:
            value = (answers.get(p.id) or {}).get(link_id)
            out[p.id] = value if states[p.id].get(link_id) and engine.has_answer(value) else None
        return out


@dataclass
class Comparison:
    """Everything the comparison page shows. The counts, the section list and *Needs attention
    first* come from the summary of the whole assignment (kept per process once everyone has
    submitted); the answers are decrypted and the rows of a section built only when a page
    asks for them, so that the overview of a submitted assignment decrypts nothing and a page
    of one section classifies and renders only that section."""

    partners: list[Partner]
    #: the pairs compared: partners in a relationship with each other, in case order
    pairs: list[tuple[Partner, Partner]]
    summary: Summary
    definition: engine.Definition
    #: each partner's answers and what follows from them, decrypted on first use
    visible: Visible = field(repr=False)
    _rows: dict[int, list[ItemComparison]] = field(default_factory=dict, repr=False)

    @property
    def answers(self) -> dict[uuid.UUID, dict]:
        """Each partner's answers (decrypted on first use)."""
        return self.visible.answers

    @property
    def states(self) -> dict[uuid.UUID, dict[str, bool]]:
        """Per partner id, which items their answers show (``engine.enabled_states``)."""
        return self.visible.states

    @property
    def shown(self) -> dict[uuid.UUID, dict]:
        """Per partner id, the answers of the items shown for their answers."""
        return self.visible.shown

    @cached_property
    def scores(self) -> list[PartnerScores]:
        """Per partner, the definition's scored measures (counselor-facing); none without
        score rules, and then no answer is decrypted for them."""
        if not self.definition.doc.get("scores"):
            return []
        defn, shown = self.definition, self.shown
        return [PartnerScores(p, scoring.scores(defn, shown[p.id])) for p in self.partners]

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
                    item, section.title, self.visible.of_item(lid), section_index=section_index
                )
                if item["type"] == "desire":
                    row.pairs = matching.compare_item_pairs(item, row.answers, pair_ids)
                rows.append(row)
            self._rows[section_index] = rows
        return rows

    def answers_html(self, row: ItemComparison) -> Markup:
        """A row's answers side by side in partner order, each under the partner's name, as
        HTML (each answer rendered once: ``answer_html``)."""
        names, answers, item = self.escaped_names, row.answers, row.item
        return _built(
            "\n        ".join(
                f'<div class="col-md"><div class="answer-cell-name">{names[p.id]}</div>'
                f"<div>{answer_html(item, answers[p.id])}</div></div>"
                for p in self.partners
            )
        )

    def cells_html(self, row: ItemComparison) -> Markup:
        """A desire row's matrix cells, one per pair, as HTML: worked out here, where a
        template would make some ten calls per cell (six partners: 240 cells a section)."""
        names, item, roles, who = self.names, row.item, row.role_labels, matching.who_does_what
        cells = []
        for pr in row.pairs:
            lines = who(item, pr, names[pr.partner_a], names[pr.partner_b], roles)
            cells.append(_cell(pr.classes, pr.cls, lines))
        return _built("\n        ".join(cells))

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

    def section_list(self, sections: list, wanted: str = "") -> list[SectionEntry]:
        """The overview's section list: per section with rows, what its page holds."""
        rows, collisions = self.summary.rows, self.summary.section_counts("limit_collision")
        mismatches = self.summary.section_counts("mismatch")
        in_class = self.summary.section_counts(wanted) if wanted else {}
        title = self.definition.title
        return [
            SectionEntry(
                s.index,
                s.index + 1,
                s.title or title,
                rows.get(s.index, 0),
                collisions.get(s.index, 0),
                mismatches.get(s.index, 0),
                in_class.get(s.index, 0),
            )
            for s in sections
        ]

    def attention(self, most: int = 10) -> list[Attention]:
        """*Needs attention first*: the limit collisions and mismatches of every section, the
        first ``most`` of each with the pairs that have it."""
        by_id, names = self.definition.by_id, self.pair_names
        one_pair = len(names) == 1  # a couple: naming the pair on every line says nothing
        out = []
        for cls in ("limit_collision", "mismatch"):
            flagged = self.summary.flagged(cls)
            if flagged:
                flags = [
                    Flag(
                        f.link_id,
                        by_id[f.link_id]["text"],
                        f.section_index + 1,
                        "" if one_pair else ", ".join(names[n] for n in f.pairs),
                    )
                    for f in flagged[:most]
                ]
                out.append(Attention(cls, len(flagged), flags))
        return out

    @cached_property
    def names(self) -> dict[uuid.UUID, str]:
        """Partner id to the name shown."""
        return {p.id: p.display_name for p in self.partners}

    @cached_property
    def escaped_names(self) -> dict[uuid.UUID, Markup]:
        """Partner id to the name shown, escaped for HTML."""
        return {p.id: escape(p.display_name) for p in self.partners}

    @cached_property
    def pair_names(self) -> list[str]:
        """Each pair as the page names it ("Sam & Alex")."""
        return [f"{a.display_name} & {b.display_name}" for a, b in self.pairs]
