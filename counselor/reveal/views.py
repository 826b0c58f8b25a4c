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

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from counselor.questionnaires.engine import Definition, enabled_states, has_answer, share_of, walk
from counselor.questionnaires.scoring import Score, scores
from counselor.reveal.matching import matches_prepared, prepare, role_labels, role_plan


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
    all_submitted: bool,
    released: bool,
    related: Callable[[Any, Any], bool] | None = None,
    sections: Collection[int] | None = None,
    states: Mapping[Any, Mapping[str, bool]] | None = None,
) -> PartnerView:
    """What ``viewer`` may see of the other partners' answers.

    ``related(a, b)`` says whether two partners are in a relationship (the case's relationship
    map); a partner sees nothing at all of anyone they are not in a relationship with.
    ``sections`` (section indexes) keeps only those sections' items (the counselor's preview of
    a long comparison, a section or a class filter at a time): it only ever leaves items out.
    ``states``: per partner key, ``enabled_states`` of their answers, when the caller has them
    already (the counselor's preview shows every partner's view: each partner's are computed
    once, not once per view)."""
    if not (all_submitted and released):
        # One answer for both: a partner must not learn from this page whether the others
        # have submitted yet (DESIGN.md: nothing tells whether another partner has answered).
        return PartnerView(False, "not_released")
    mine = answers.get(viewer.key) or {}
    others = [
        p
        for p in partners
        if p.key != viewer.key and (related is None or related(viewer.key, p.key))
    ]
    states = dict(states or {})
    for p in (viewer, *others):
        if p.key not in states:
            states[p.key] = enabled_states(defn, answers.get(p.key) or {})
    my_states = states[viewer.key]
    theirs = [(p.name, answers.get(p.key) or {}, states[p.key]) for p in others]
    items: list[SharedItem] = []
    for section_index, section_title, lid, item, share, labels, plan in defn.derived(
        "partner_view_items", _candidates
    ):
        if sections is not None and section_index not in sections:
            continue
        if not my_states[lid]:
            continue
        shown = SharedItem(lid, item["text"], section_title)
        if labels is not None:  # a desire item: its matches, never its answers
            mine_prepared = prepare(item, mine.get(lid))
            for name, their_answers, their_states in theirs:
                if not their_states[lid]:
                    continue
                for p in matches_prepared(
                    plan, mine_prepared, prepare(item, their_answers.get(lid))
                ):
                    shown.matches.append(
                        MatchLine(
                            name,
                            labels.get(p.role_a, p.role_a),
                            labels.get(p.role_b, p.role_b),
                            p.cls,
                        )
                    )
        else:
            for name, their_answers, their_states in theirs:
                if not their_states[lid]:
                    continue
                value = _public_value(item, their_answers.get(lid))
                if value is None:
                    continue
                if share == "shared" or (share == "mutual" and value == mine.get(lid)):
                    shown.answers.append(SharedAnswer(name, item, value))
        if shown.matches or shown.answers:
            items.append(shown)
    own = [s for s in scores(defn, mine, shared_only=True) if s.scored]
    return PartnerView(True, "released", items, own)


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
