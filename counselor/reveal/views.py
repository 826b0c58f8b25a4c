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
from typing import Any

from counselor.questionnaires.engine import Definition, enabled_states, has_answer, share_of, walk
from counselor.questionnaires.scoring import Score, scores
from counselor.reveal.matching import compare_prepared, prepare


@dataclass(frozen=True)
class PartnerInfo:
    """A partner as the view needs them: an opaque key and the name shown."""

    key: Any
    name: str


@dataclass(frozen=True)
class MatchLine:
    """One matching role pairing: what the viewer and the other partner both want."""

    other: str
    viewer_role: str
    other_role: str
    cls: str  # mutual or complementary

    @property
    def badge(self) -> str:
        """What the match is, in the viewer's words."""
        return "You both want this" if self.cls == "mutual" else "You complement each other"

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


def _role_labels(item: dict) -> dict[str, str]:
    return {r["key"]: r["label"] for r in reversed(item["roles"])}  # the first of a key wins


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
    hidden_by_unshared = defn.derived("depends_on_unshared", _depends_on_unshared)
    states = dict(states or {})
    for p in (viewer, *others):
        if p.key not in states:
            states[p.key] = enabled_states(defn, answers.get(p.key) or {})
    my_states = states[viewer.key]
    their_states = states
    items: list[SharedItem] = []
    for section in defn.sections:
        if sections is not None and section.index not in sections:
            continue
        for lid in _section_ids(defn, section):
            item = defn.by_id[lid]
            share = share_of(item)
            if share == "counselor_only" or lid in hidden_by_unshared:
                continue
            if not my_states[lid]:
                continue
            shown = SharedItem(lid, item["text"], section.title)
            mine_prepared, labels = None, {}
            for other in others:
                theirs = answers.get(other.key) or {}
                if not their_states[other.key][lid]:
                    continue
                if item["type"] == "desire":
                    if mine_prepared is None:  # the viewer's answer, once for every other
                        mine_prepared, labels = prepare(item, mine.get(lid)), _role_labels(item)
                    result = compare_prepared(
                        item, viewer.key, mine_prepared, other.key, prepare(item, theirs.get(lid))
                    )
                    for p in result.matches:
                        shown.matches.append(
                            MatchLine(
                                other.name,
                                labels.get(p.role_a, p.role_a),
                                labels.get(p.role_b, p.role_b),
                                p.cls,
                            )
                        )
                elif share == "shared":
                    value = _public_value(item, theirs.get(lid))
                    if value is not None:
                        shown.answers.append(SharedAnswer(other.name, item, value))
                elif share == "mutual":
                    value = _public_value(item, theirs.get(lid))
                    if value is not None and value == mine.get(lid):
                        shown.answers.append(SharedAnswer(other.name, item, value))
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


def _section_ids(defn: Definition, section) -> list[str]:
    return [i["link_id"] for i in walk(section.items) if i["type"] not in ("group", "display")]
