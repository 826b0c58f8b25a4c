"""The comparison page's read model: every partner's answers side by side, the desire classes
of each pair, and what the overview of a long comparison lists. Pure: no Flask, no database
(``counselor.reveal.services.compare`` builds it from an assignment)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from markupsafe import Markup, escape

from counselor.questionnaires import engine, scoring
from counselor.reveal import matching, rows_html
from counselor.reveal.summary import Summary

#: a case's partner (``counselor.cases.models.Partner``): anything with ``id`` and
#: ``display_name``; this module does not import the models (it is pure)
Partner = Any


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
    summary is kept per process) decrypts none, and a page of some sections parses only the
    parts of the answers their items read (``engine.parts_read``).

    ``load(parts)`` gives each partner's answers by partner id with at least those parts
    parsed (all for None); it decrypts each partner's once, however often it is asked."""

    def __init__(
        self,
        defn: engine.Definition,
        partners: list[Partner],
        load: Callable[[Collection[str] | None], dict],
    ):
        self.definition, self.partners, self._load = defn, partners, load
        self._of_sections: dict[int, list[tuple[dict, dict[str, bool]]]] = {}

    @cached_property
    def answers(self) -> dict[uuid.UUID, dict]:
        """Per partner id, their answers."""
        return self._load(None)

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

    @cached_property
    def _columns(self) -> list[tuple[dict, dict[str, bool]]]:
        """Per partner in order, their answers and ``states``: a row reads them by position,
        not by partner id (a UUID's hash is a Python call, and a row asks for each partner)."""
        answers, states = self.answers, self.states
        return [(answers.get(p.id) or {}, states[p.id]) for p in self.partners]

    def _of_section(self, section_index: int) -> list[tuple[dict, dict[str, bool]]]:
        """``_columns`` as far as one section's items read them: only the parts of the
        answers they read are parsed, unless every answer is read already."""
        if "answers" in self.__dict__:
            return self._columns
        columns = self._of_sections.get(section_index)
        if columns is None:
            defn = self.definition
            answers = self._load(engine.parts_read(defn, (section_index,)))
            columns = []
            for p in self.partners:
                mine = answers.get(p.id) or {}
                columns.append((mine, engine.enabled_states(defn, mine)))
            self._of_sections[section_index] = columns
        return columns

    def of_item(self, link_id: str, section_index: int) -> list[Any]:
        """In partner order, each partner's answer to one item of the section at
        ``section_index`` if their answers show it (else None): as ``shown`` has it, for a
        page of one section without the whole questionnaire's."""
        out = []
        for answers, states in self._of_section(section_index):
            value = answers.get(link_id)
            out.append(value if states.get(link_id) and engine.has_answer(value) else None)
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
            ids, positions = self._ids, self._pair_positions
            rows = []
            for item in engine.walk(section.items):
                if item["type"] not in engine.ANSWERABLE:
                    continue
                values = self.visible.of_item(item["link_id"], section_index)
                row = ItemComparison(
                    item,
                    section.title,
                    dict(zip(ids, values, strict=True)),
                    section_index=section_index,
                )
                if item["type"] == "desire":
                    row.pairs = matching.compare_item_listed(item, ids, values, positions)
                rows.append(row)
            self._rows[section_index] = rows
        return rows

    def matrix_html(self, rows: list[ItemComparison], located: bool) -> Markup:
        """The matrix's rows, one cell per pair, as HTML (``rows_html``); ``located``: each
        row names its section (a page of items from several sections)."""
        heads, names = rows_html.heads(self.definition), self._pair_names
        out = []
        for row in rows:
            cells = rows_html.cells(row.item, zip(row.pairs, names, strict=True), row.role_labels)
            head = heads[row.link_id]
            out.append(f"{head.row_located if located else head.row}{cells}\n      </tr>")
        return rows_html.built("\n".join(out))

    def answer_blocks_html(self, rows: list[ItemComparison]) -> Markup:
        """Each row's answers side by side, in partner order under the partners' names, as
        HTML (``rows_html``; each answer rendered once by ``answer_html``)."""
        heads, names = rows_html.heads(self.definition), self._escaped_names
        out = []
        for row in rows:
            # a row's answers are in partner order (``section_rows``)
            side = rows_html.answers(row.item, zip(names, row.answers.values(), strict=True))
            head = heads[row.link_id]
            out.append(f"{head.block_linked if row.pairs else head.block}{side}{head.block_end}")
        return rows_html.built("\n".join(out))

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

    @property
    def names_line(self) -> str:
        """The partners' names in order, as the page's heading lists them."""
        return ", ".join(p.display_name for p in self.partners)

    @cached_property
    def _ids(self) -> list[uuid.UUID]:
        """The partners' ids, in order."""
        return [p.id for p in self.partners]

    @cached_property
    def _pair_positions(self) -> list[tuple[int, int]]:
        """Each pair as the two partners' positions."""
        at = {p.id: n for n, p in enumerate(self.partners)}
        return [(at[a.id], at[b.id]) for a, b in self.pairs]

    @cached_property
    def _escaped_names(self) -> list[Markup]:
        """The names shown, in partner order, escaped for HTML."""
        return [escape(p.display_name) for p in self.partners]

    @cached_property
    def _pair_names(self) -> list[tuple[str, str]]:
        """Each pair's two names, in pair order (a row's pairs are in this order)."""
        return [(a.display_name, b.display_name) for a, b in self.pairs]

    @cached_property
    def pair_names(self) -> list[str]:
        """Each pair as the page names it ("Sam & Alex")."""
        return [f"{a.display_name} & {b.display_name}" for a, b in self.pairs]
