"""The partner-facing filter: the only way anything of another partner reaches a partner.

``partner_view`` takes plain data (the definition, every assigned partner's answers, the
release state) and returns only what the reveal rules allow the viewer to see. Pages and the
client handout PDF (and any partner-facing export to come) are built from its result, never
from responses directly.

Rules (DESIGN.md): nothing of another partner until every assigned partner has submitted
AND the counselor has released the assignment; then only desire items that match mutually
or complementarily between partners in a relationship with each other (never a no, maybe,
hard limit, fantasy-only mark, experience, note or unmatched answer; a hard limit on one role
hides only the pairings of that role), items the
author marked ``shared``, and non-desire ``mutual`` items where both gave the same answer;
never a ``counselor_only`` item, and never an item shown only for some answers to a question
that is not ``shared`` (its presence would tell that answer). A score the author marked
``shared`` is shown to a partner for their own answers only, never another partner's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice
from typing import Any, NamedTuple

from counselor.questionnaires.engine import (
    Definition,
    enabled_states,
    has_answer,
    parts_read,
    share_of,
    walk,
)
from counselor.questionnaires.scoring import Score, score_rules, scores
from counselor.reveal.matching import (
    has_match,
    matches_prepared,
    prepare,
    role_labels,
    role_plan,
    wanted,
)


@dataclass(frozen=True)
class PartnerInfo:
    """A partner as the view needs them: an opaque key and the name shown."""

    key: Any
    name: str


class MatchLine(NamedTuple):
    """One matching role pairing: what the viewer and the other partner both want (a tuple:
    a partner's page of the desire inventory with five others holds some 1,700)."""

    other: str
    viewer_role: str
    other_role: str
    #: mutual or complementary (portal/_shared_items.html words each: "You both want this",
    #: "You complement each other")
    cls: str

    @property
    def detail(self) -> str:
        """Who does what: the viewer's role and the other's, or with whom a role is shared."""
        if self.cls == "complementary":
            return f"You: {self.viewer_role} · {self.other}: {self.other_role}"
        if self.viewer_role == "Together":
            return f"with {self.other}"
        return f"with {self.other} ({self.viewer_role})"


@dataclass(frozen=True)
class SharedAnswer:
    """Another partner's answer to an item the author marked shared (or a mutual agreement)."""

    other: str
    item: dict
    value: Any


@dataclass
class SharedItem:
    """One item of the shared view with what may be shown of it."""

    link_id: str
    text: str
    section: str
    matches: list[MatchLine] = field(default_factory=list)
    answers: list[SharedAnswer] = field(default_factory=list)


@dataclass
class PartnerView:
    """Everything a partner may see of the others for one assignment."""

    visible: bool
    reason: str
    items: list[SharedItem] = field(default_factory=list)
    #: the viewer's OWN scores on measures marked shared (never another partner's)
    own_scores: list[Score] = field(default_factory=list)


def _public_value(item: dict, value: Any) -> Any:
    """Strip from an answer what is never shown to another partner (desire answers whole)."""
    if item["type"] == "desire" or not has_answer(value):
        return None
    return value


def partner_view(
    defn: Definition,
    viewer: PartnerInfo,
    partners: list[PartnerInfo],
    answers: Mapping[Any, Mapping[str, Any]],
    *,
    sections: Collection[int] | None = None,
    **rules: Any,
) -> PartnerView:
    """What ``viewer`` may see of the other partners' answers, built whole; ``rules`` are
    ``partner_reader``'s (``all_submitted``, ``released``, ``related``, ``states``).

    ``sections`` (section indexes) keeps only those sections' items (the counselor's preview of
    a long comparison, a section or a class filter at a time): it only ever leaves items out."""
    reader = partner_reader(defn, viewer, partners, answers, **rules)
    if not reader.visible:
        return PartnerView(False, reader.reason)
    return PartnerView(True, reader.reason, reader.items(sections), reader.own_scores)


#: what ``partner_reader`` reads answers through: ``load(parts, keys)`` gives the answers of
#: the partners ``keys`` names, by key, with at least the ``parts`` (``engine.answer_part``)
#: their items read parsed (every part for None); a partner without answers may be left out
AnswerLoader = Callable[[Collection[str] | None, Collection[Any]], Mapping[Any, Mapping[str, Any]]]
#: ``kept(name, make)``: ``make()``'s result, kept by the caller for the same inputs of the
#: view (its answers, partners and definition) under ``name``, or made now
Keeper = Callable[[Hashable, Callable[[], Any]], Any]


def partner_reader(
    defn: Definition,
    viewer: PartnerInfo,
    partners: list[PartnerInfo],
    answers: Mapping[Any, Mapping[str, Any]] | AnswerLoader,
    *,
    all_submitted: bool,
    released: bool,
    related: Callable[[Any, Any], bool] | None = None,
    states: Mapping[Any, Mapping[str, bool]] | None = None,
    kept: Keeper | None = None,
) -> PartnerReader:
    """What ``viewer`` may see of the other partners' answers, ready to be read a part at a
    time (a long shared page shows one section, and lists the others with their counts);
    ``partner_view`` builds it whole.

    ``related(a, b)`` says whether two partners are in a relationship (the case's relationship
    map); a partner sees nothing at all of anyone they are not in a relationship with, and only
    the answers of the viewer and of the partners related to them are read from ``answers``:
    each partner's answers by key, or an ``AnswerLoader`` that parses only the parts a page's
    sections read. ``states``: per partner key, ``enabled_states`` of their answers, when the
    caller has them already (the counselor's preview shows every partner's view: each
    partner's are computed once, not once per view). ``kept``: where the outline, which reads
    every answer, is kept for the same answers and partners (``Keeper``); the reader asks it
    only of a view that shows something."""
    if not (all_submitted and released):
        # One answer for both: a partner must not learn from this page whether the others
        # have submitted yet (DESIGN.md: nothing tells whether another partner has answered).
        return PartnerReader(defn, False, "not_released")
    others = [
        p
        for p in partners
        if p.key != viewer.key and (related is None or related(viewer.key, p.key))
    ]
    load = answers if callable(answers) else (lambda _parts, _keys: answers)
    return PartnerReader(defn, True, "released", viewer.key, others, load, dict(states or {}), kept)


class Outline(NamedTuple):
    """What a partner view holds, without its lines: how many items it shows in each section
    (by section index, only sections with some) and how many lines they make."""

    counts: dict[int, int]
    #: each item's heading, matches and answers; exact up to the limit asked, past it only
    #: known to be more
    lines: int


class _Read(NamedTuple):
    """The answers a view reads (of some sections or of all), with what they show."""

    mine: Mapping[str, Any]
    my_states: Mapping[str, bool]
    #: each related partner's name, answers and ``enabled_states``
    theirs: list[tuple[str, Mapping[str, Any], Mapping[str, bool]]]


@dataclass
class PartnerReader:
    """One partner's view (``partner_view``) before it is built: its items are built for the
    sections asked only, reading only the parts of the answers those sections' items read
    (``engine.parts_read``), and its outline is counted without building any, or taken from
    where the caller keeps it."""

    defn: Definition
    visible: bool
    reason: str
    viewer: Any = None
    #: the partners related to the viewer, in case order
    others: list[PartnerInfo] = field(default_factory=list)
    load: AnswerLoader | None = field(default=None, repr=False)
    #: per partner key, ``enabled_states`` of all their answers, as far as the caller has them
    states: dict[Any, Mapping[str, bool]] = field(default_factory=dict, repr=False)
    kept: Keeper | None = field(default=None, repr=False)
    #: what has been read, by the sections read (None: all of them)
    _read: dict[frozenset[int] | None, _Read] = field(default_factory=dict, repr=False)

    def _answers(self, sections: Collection[int] | None) -> _Read:
        """The viewer's and the related partners' answers as far as ``sections`` (indexes; all
        for None) read them, and what they show of those sections' items (the states of
        other items are not to be read: their parts may not be parsed)."""
        read = self._read.get(None)  # everything read already serves any section
        key = None if sections is None else frozenset(sections)
        if read is None:
            read = self._read.get(key)
        if read is not None:
            return read
        defn = self.defn
        parts = None if key is None else parts_read(defn, key)
        keys = [self.viewer, *(p.key for p in self.others)]
        answers = self.load(parts, keys)

        def of(k: Any) -> tuple[Mapping[str, Any], Mapping[str, bool]]:
            given = answers.get(k) or {}
            states = self.states.get(k)
            return given, enabled_states(defn, given) if states is None else states

        mine, my_states = of(self.viewer)
        theirs = [(p.name, *of(p.key)) for p in self.others]
        read = self._read[key] = _Read(mine, my_states, theirs)
        return read

    @cached_property
    def own_scores(self) -> list[Score]:
        """The viewer's OWN scores on measures marked shared (never another partner's)."""
        if not self.visible or not score_rules(self.defn, shared_only=True):
            return []  # nothing read
        mine = self._answers(None).mine
        return [s for s in scores(self.defn, mine, shared_only=True) if s.scored]

    def _candidates(self, sections: Collection[int] | None, read: _Read) -> Iterator[tuple]:
        """The candidates (``_candidates``) of the sections asked that the viewer was shown."""
        my_states = read.my_states
        for cand in self.defn.derived("partner_view_items", _candidates):
            if (sections is None or cand[0] in sections) and my_states[cand[2]]:
                yield cand

    def items(self, sections: Collection[int] | None = None) -> list[SharedItem]:
        """The view's items, of only the sections asked (indexes) when ``sections`` is given:
        it only ever leaves items out."""
        if not self.visible:
            return []
        items = []
        read = self._answers(sections)
        mine, theirs = read.mine, read.theirs
        for cand in self._candidates(sections, read):
            _, section_title, lid, item, _, labels, _ = cand
            shown = _shown(cand, mine, theirs)
            if labels is not None:
                matches = [
                    MatchLine(
                        name, labels.get(p.role_a, p.role_a), labels.get(p.role_b, p.role_b), p.cls
                    )
                    for name, p in shown
                ]
                if matches:
                    items.append(SharedItem(lid, item["text"], section_title, matches))
            else:
                answers = [SharedAnswer(name, item, value) for name, value in shown]
                if answers:
                    items.append(SharedItem(lid, item["text"], section_title, answers=answers))
        return items

    def outline(self, limit: int) -> Outline:
        """How many items each section shows and how many lines they make, counted exactly
        up to ``limit``; past it, of each item only whether it is shown (its first match or
        answer, found without classifying the rest). No line is built; it reads every answer
        of the view, unless the caller keeps it (``kept``)."""
        if not self.visible:
            return Outline({}, 0)
        if self.kept is None:
            return self._outline(limit)
        return self.kept(("outline", limit), lambda: self._outline(limit))

    def _outline(self, limit: int) -> Outline:
        counts: dict[int, int] = {}
        lines = 0
        read = self._answers(None)
        mine, theirs = read.mine, read.theirs
        for cand in self._candidates(None, read):
            if lines < limit:  # the view may still be short: its lines are counted
                n = sum(1 for _ in islice(_shown(cand, mine, theirs), limit - lines))
            elif cand[5] is not None:  # it is long: only whether the item is shown counts
                n = 1 if _matched(cand, mine, theirs) else 0
            else:
                n = 1 if next(_shown(cand, mine, theirs, first=True), None) else 0
            if n:
                counts[cand[0]] = counts.get(cand[0], 0) + 1
                lines += 1 + n
        return Outline(counts, lines)


def _shown(
    cand: tuple, mine: Mapping[str, Any], theirs: list[tuple[str, Mapping, Mapping]], *, first=False
) -> Iterator[tuple[str, Any]]:
    """What the viewer is shown of one candidate item (``_candidates``), one at a time: for a
    desire item each matching pairing with a related partner, as (their name, ``Pairing``),
    never their answers; for any other item each answer they may see, as (name, value). The
    one place the reveal rules are applied per item: a view's items and its outline both read
    this, and for a desire item ``_matched`` the same rule without building anything.
    ``first``: only the first answer of an item that is not a desire item."""
    _, _, lid, item, share, labels, plan = cand
    if labels is not None:  # a desire item: its matches, never its answers
        mine_prepared = prepare(item, mine.get(lid))
        for name, their_answers, their_states in theirs:
            if their_states[lid]:
                for p in matches_prepared(
                    plan, mine_prepared, prepare(item, their_answers.get(lid))
                ):
                    yield name, p
        return
    for name, their_answers, their_states in theirs:
        if not their_states[lid]:
            continue
        value = _public_value(item, their_answers.get(lid))
        if value is None:
            continue
        if share == "shared" or (share == "mutual" and value == mine.get(lid)):
            yield name, value
            if first:
                return


def _matched(
    cand: tuple, mine: Mapping[str, Any], theirs: list[tuple[str, Mapping, Mapping]]
) -> bool:
    """Whether ``_shown`` shows any match of a desire candidate: a related partner with a
    match, found by ``has_match`` of what each answer ``wanted`` (the rule of
    ``matches_prepared`` without classifying or building anything per role; a view's outline
    asks it of every item past its first lines)."""
    lid, plan = cand[2], cand[6]
    mine_wanted = wanted(mine.get(lid))
    if mine_wanted is None:  # nobody can match the viewer on this item
        return False
    for _, their_answers, their_states in theirs:
        if their_states[lid] and has_match(plan, mine_wanted, wanted(their_answers.get(lid))):
            return True
    return False


def _depends_on_unshared(defn: Definition) -> set[str]:
    """The items shown only for some answers to a question that is not ``shared`` (through
    their own conditions, a group holding them, or the questions those read): that another
    partner's answer is shown at all would tell the viewer something of that private answer
    (a follow-up that appears only after "I do not feel safe at home" tells the screening
    answer), so nothing of others is shown for them."""
    # One pass in document order: a condition names an earlier item and a group comes before
    # its children, so what an item depends on is decided before it (linear, no recursion).
    # A name not yet decided (a definition stored before that order was checked) counts as
    # dependent: refusing to show is the safe side.
    decided: dict[str, bool] = {}
    for lid in defn.order:
        item = defn.by_id[lid]
        parent = defn.parent.get(lid)
        dependent = parent is not None and decided.get(parent["link_id"], True)
        for cond in item.get("enable_when") or ():
            question = defn.by_id.get(cond["question"])
            if (
                question is None
                or share_of(question) != "shared"
                or decided.get(cond["question"], True)
            ):
                dependent = True
        decided[lid] = dependent
    return {lid for lid, dependent in decided.items() if dependent}


def _candidates(defn: Definition) -> tuple[tuple, ...]:
    """The items a partner view may show anything of, in document order: never a
    ``counselor_only`` item, nor one shown only for an answer that is not shared. Each as
    (section index, section title, link id, item, share, role labels, ``role_plan``), the
    last two None but for a desire item. Worked out once per definition (a view asked each
    item of the inventory anew, every time)."""
    hidden = _depends_on_unshared(defn)
    out = []
    for section in defn.sections:
        for item in walk(section.items):
            if item["type"] in ("group", "display"):
                continue
            share = share_of(item)
            if share == "counselor_only" or item["link_id"] in hidden:
                continue
            desire = item["type"] == "desire"
            labels = role_labels(item) if desire else None
            plan = role_plan(item) if desire else None
            out.append((section.index, section.title, item["link_id"], item, share, labels, plan))
    return tuple(out)
