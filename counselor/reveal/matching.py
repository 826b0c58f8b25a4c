"""Matching partners' desire answers, pairwise. Pure functions on plain data (no Flask).

For every desire item and every pair of partners the roles are paired up: a shared role
(no ``counterpart``) with the same role of the other partner, a role with a counterpart
with that counterpart of the other (A gives ↔ B receives). Each pairing is classified:

- ``mutual``: a shared role answered yes or want-to-try by both;
- ``complementary``: yes or want-to-try on a role and on its counterpart by the other;
- ``discuss``: any maybe or only-if-my-partner-wants, and no no;
- ``mismatch``: a yes or want-to-try against a no;
- ``neither``: both no;
- ``unanswered``: one of them left the role open (never read as a no).

A hard limit belongs to a role: a pairing where either role is a partner's hard limit is
``limit_collision`` when the other partner said yes or want-to-try on the paired role,
otherwise ``limit``; the other pairings of the item are classified as usual, so a limit on
receiving does not hide a match where that partner gives. A yes or want-to-try marked
"fantasy only — not to act on" never counts as a match: it is classified like a maybe.

A pair has every class its pairings have (``classes``: an item whose pairings disagree shows
each), with ``limit`` also listed under a collision. ``cls`` is the one class a cell leads
with: a collision first, then a match (what the pair can build on), then the most pressing
rest. Two partners who both want only the
same one-sided role (both only give) do not match.

Only partners in a relationship with each other are compared (``pairs`` from the case's
relationship map); metamours are never paired.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from itertools import combinations
from types import MappingProxyType
from typing import Any, NamedTuple

from counselor.questionnaires.engine import desire_value, older_desire_shape

POSITIVE = frozenset({"yes", "want_to_try"})
TENTATIVE = frozenset({"maybe", "if_partner"})

MATCH_CLASSES = ("mutual", "complementary")
#: counselor-facing order: most pressing first
CLASS_ORDER = (
    "limit_collision",
    "mismatch",
    "discuss",
    "complementary",
    "mutual",
    "limit",
    "unanswered",
    "neither",
)
CLASS_LABELS = {
    "limit_collision": "Limit collision",
    "mismatch": "Mismatch",
    "discuss": "To discuss",
    "complementary": "Complementary",
    "mutual": "Mutual",
    "limit": "Hard limit",
    "unanswered": "Unanswered",
    "neither": "Neither wants",
}
CLASS_HELP = {
    "limit_collision": "one partner's yes runs into the other's hard limit",
    "mismatch": "a yes or want-to-try against a no",
    "discuss": "a maybe or only-if-my-partner-wants",
    "complementary": "one wants to give or lead what the other wants to receive or follow",
    "mutual": "both want it",
    "limit": "a hard limit that no yes runs into",
    "unanswered": "at least one of the two did not answer",
    "neither": "both said no",
}


class Pairing(NamedTuple):
    """One role of partner A paired with one role of partner B (a tuple: a comparison makes
    one per role, pair and item, thousands for a long one)."""

    role_a: str
    role_b: str
    answer_a: str | None
    answer_b: str | None
    cls: str


#: which class a cell leads with when its pairings disagree
LEAD_ORDER = (
    "limit_collision",
    "complementary",
    "mutual",
    "mismatch",
    "discuss",
    "limit",
    "unanswered",
    "neither",
)


@dataclass(slots=True)
class PairResult:
    """How two partners' answers to one desire item relate."""

    link_id: str
    partner_a: Any
    partner_b: Any
    cls: str
    pairings: list[Pairing] = field(default_factory=list)
    #: every class of the pair, in counselor order (see the module docstring)
    classes: tuple[str, ...] = ()
    #: the roles each partner marked a hard limit
    limits_a: frozenset = frozenset()
    limits_b: frozenset = frozenset()

    @property
    def matches(self) -> list[Pairing]:
        """The pairings that are mutual or complementary (what partners may see)."""
        return [p for p in self.pairings if p.cls in MATCH_CLASSES]


def classify_pairing(a: str | None, b: str | None, *, shared_role: bool) -> str:
    """The class of two answers on paired roles."""
    if not a or not b:
        return "unanswered"
    if a in POSITIVE and b in POSITIVE:
        return "mutual" if shared_role else "complementary"
    if "no" in (a, b):
        return (
            "neither"
            if a == b == "no"
            else ("mismatch" if (a in POSITIVE or b in POSITIVE) else "discuss")
        )
    return "discuss"


class Prepared(NamedTuple):
    """One partner's answer to one desire item, normalised once for every pair it is in
    (read only: ``roles`` may be the stored answer's own mapping)."""

    roles: Mapping
    #: the role answers as they count for a match: a fantasy-only yes counts as a maybe
    matching: Mapping
    limits: frozenset
    empty: bool


_UNANSWERED = Prepared(MappingProxyType({}), MappingProxyType({}), frozenset(), True)


def prepare(item: dict, answer: Mapping | None) -> Prepared:
    """Normalise an answer for matching (today's shape; a fantasy-only yes as a maybe)."""
    if not answer or not isinstance(answer, dict):
        return _UNANSWERED
    if older_desire_shape(answer):
        answer = desire_value(item, answer)  # its item-wide limit becomes one per role
    roles = answer.get("roles") or {}
    limits = answer.get("limits") or ()
    matching = (
        {k: ("maybe" if v in POSITIVE else v) for k, v in roles.items()}
        if answer.get("fantasy")
        else roles
    )
    return Prepared(roles, matching, frozenset(limits), not roles and not limits)


def compare_pair(
    item: dict, a_key: Any, a_answer: Mapping | None, b_key: Any, b_answer: Mapping | None
) -> PairResult:
    """Classify one desire item for one pair of partners."""
    return compare_prepared(item, a_key, prepare(item, a_answer), b_key, prepare(item, b_answer))


def role_plan(item: dict) -> tuple[tuple[str, str, bool], ...]:
    """How a desire item's roles pair up: per role, its key, the key of the other partner's
    role it is paired with (its counterpart, or itself) and whether it is shared (no
    counterpart). A caller classifying an item for many pairs makes it once."""
    return tuple(
        (r["key"], r.get("counterpart", r["key"]), "counterpart" not in r) for r in item["roles"]
    )


def compare_prepared(
    item: dict,
    a_key: Any,
    a: Prepared,
    b_key: Any,
    b: Prepared,
    plan: tuple[tuple[str, str, bool], ...] | None = None,
) -> PairResult:
    """``compare_pair`` on answers already prepared (each partner's once per item);
    ``plan``: ``role_plan(item)``, when the caller has it."""
    pairings, pairing_classes = _classified(role_plan(item) if plan is None else plan, a, b)
    classes, cls = _classes_of(pairing_classes)
    return PairResult(item["link_id"], a_key, b_key, cls, pairings, classes, a.limits, b.limits)


def matches_prepared(
    plan: tuple[tuple[str, str, bool], ...], a: Prepared, b: Prepared
) -> list[Pairing]:
    """The mutual and complementary pairings of two prepared answers to an item with this
    ``role_plan``: what partners may see of each other (``compare_prepared(...).matches``,
    without the pair's classes)."""
    return [p for p in _pairings(plan, a, b) if p.cls in MATCH_CLASSES]


def wanted(answer: Mapping | None) -> tuple[Mapping, Collection] | None:
    """What of a stored desire answer can take part in a match (``has_match``): its roles'
    answers and its hard limits, or None when it can take part in none (no answer, no role
    answered, marked fantasy only, or an older answer's item-wide limit, which limits every
    role it answered: ``prepare``). A partner's shared page asks this of every item for the
    viewer and each related partner, so it copies and builds nothing."""
    if not answer or not isinstance(answer, dict) or answer.get("fantasy"):
        return None
    roles = answer.get("roles")
    if not roles:
        return None
    limits = answer.get("limits")
    if not limits and answer.get("hard_limit"):
        return None  # every answered role is limited (``older_desire_shape``)
    return roles, limits or ()


def has_match(
    plan: tuple[tuple[str, str, bool], ...],
    a: tuple[Mapping, Collection] | None,
    b: tuple[Mapping, Collection] | None,
) -> bool:
    """Whether ``matches_prepared(plan, prepare(item, x), prepare(item, y))`` holds any
    pairing, where ``a`` and ``b`` are ``wanted(x)`` and ``wanted(y)``, without classifying
    any pairing (a partner's shared page counts its items in every section, and lists only
    one section's): a pairing matches when neither role is a hard limit of its partner and
    both answers, as they count for a match, are yes or want-to-try (``_pairings``)."""
    if a is None or b is None:
        return False
    roles_a, limits_a = a
    roles_b, limits_b = b
    for mine, other, _ in plan:
        if (
            roles_a.get(mine) in POSITIVE
            and roles_b.get(other) in POSITIVE
            and mine not in limits_a
            and other not in limits_b
        ):
            return True
    return False


def _pairings(plan: tuple[tuple[str, str, bool], ...], a: Prepared, b: Prepared) -> list[Pairing]:
    """Each role of A paired with its counterpart (or itself) of B, classified."""
    return _classified(plan, a, b)[0]


def _classified(
    plan: tuple[tuple[str, str, bool], ...], a: Prepared, b: Prepared
) -> tuple[list[Pairing], tuple[str, ...]]:
    """``_pairings``, and their classes in role order (a pair's classes follow from them). A
    comparison of six partners classifies some 250 pairs a section page, each answer pair by
    ``_CLASS``, which ``classify_pairing`` fills."""
    limits_a, limits_b = a.limits, b.limits
    roles_a, roles_b = a.roles, b.roles
    empty = a.empty or b.empty
    pairings, classes = [], []
    for mine, other, shared_role in plan:
        raw_a, raw_b = roles_a.get(mine), roles_b.get(other)
        if mine in limits_a or other in limits_b:
            collides = (mine in limits_a and raw_b in POSITIVE) or (
                other in limits_b and raw_a in POSITIVE
            )
            cls = "limit_collision" if collides else "limit"
        elif empty:
            cls = "unanswered"
        else:
            key = (a.matching.get(mine), b.matching.get(other), shared_role)
            cls = _CLASS.get(key) or classify_pairing(key[0], key[1], shared_role=shared_role)
        pairings.append(_pairing((mine, other, raw_a, raw_b, cls)))
        classes.append(cls)
    return pairings, tuple(classes)


#: ``classify_pairing`` of every pair of answers a stored answer may hold, and whether the
#: role is shared (a look-up costs a third of the call)
_CLASS = {
    (x, y, shared): classify_pairing(x, y, shared_role=shared)
    for x in (None, "", *POSITIVE, *TENTATIVE, "no")
    for y in (None, "", *POSITIVE, *TENTATIVE, "no")
    for shared in (True, False)
}
#: a ``Pairing`` of its five values, without the named tuple's own ``__new__`` (a Python call)
_pairing = partial(tuple.__new__, Pairing)


@cache  # a few dozen combinations of pairing classes occur (items have one to four roles)
def _classes_of(pairing_classes: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """A pair's classes in counselor order, and the one its cell leads with."""
    present = set(pairing_classes)
    if "limit_collision" in present:
        present.add("limit")  # a limit is a limit, also where a yes runs into it
    classes = tuple(c for c in CLASS_ORDER if c in present)
    return classes, next(c for c in LEAD_ORDER if c in present)


def related_pairs(keys: Iterable[Any], related: Callable[[Any, Any], bool] | None = None) -> list:
    """The pairs of partners (in the given order) that are in a relationship with each other."""
    return [(a, b) for a, b in combinations(list(keys), 2) if related is None or related(a, b)]


def compare_item(
    item: dict,
    answers_by_partner: Mapping[Any, Mapping | None],
    related: Callable[[Any, Any], bool] | None = None,
) -> list[PairResult]:
    """Every pair of partners in a relationship (everyone with everyone without ``related``)."""
    return compare_item_pairs(item, answers_by_partner, related_pairs(answers_by_partner, related))


def compare_item_pairs(
    item: dict, answers_by_partner: Mapping[Any, Mapping | None], pairs: Iterable[tuple]
) -> list[PairResult]:
    """``compare_item`` for pairs decided once (the same for every item of an assignment);
    each partner's answer is prepared once, however many pairs they are in."""
    keys = list(answers_by_partner)
    at = {k: n for n, k in enumerate(keys)}
    positions = [(at[a], at[b]) for a, b in pairs]
    return compare_item_listed(item, keys, list(answers_by_partner.values()), positions)


def compare_item_listed(
    item: dict,
    keys: Sequence[Any],
    answers: Sequence[Mapping | None],
    pairs: Iterable[tuple[int, int]],
) -> list[PairResult]:
    """``compare_item_pairs`` with the partners' keys and answers in two lists and each pair
    as the two positions: a page that classifies many items for the same pairs looks up no
    key (a partner id's hash is a Python call, and a row of six partners asks for 36)."""
    prepared = [prepare(item, v) for v in answers]
    plan, link_id = role_plan(item), item["link_id"]
    out = []
    # ``compare_prepared`` for each pair, without its call: a section of six partners
    # classifies some 250 pairs
    for a, b in pairs:
        one, other = prepared[a], prepared[b]
        pairings, pairing_classes = _classified(plan, one, other)
        classes, cls = _classes_of(pairing_classes)
        out.append(
            PairResult(link_id, keys[a], keys[b], cls, pairings, classes, one.limits, other.limits)
        )
    return out


def counts(results: list[PairResult]) -> dict[str, int]:
    """How many item-pairs have each class, in counselor order (a pair counts under each of its
    classes, so the number shown for a class is the number of rows its filter shows)."""
    out = {c: 0 for c in CLASS_ORDER}
    for r in results:
        for c in r.classes:
            out[c] += 1
    return out


def role_labels(item: dict) -> dict[str, str]:
    """A desire item's role keys with their labels (the first of a key wins)."""
    return {r["key"]: r["label"] for r in reversed(item.get("roles", ()))}


def who_does_what(
    item: dict,
    result: PairResult,
    name_a: str,
    name_b: str,
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    """Counselor-facing lines saying who leads or gives in a pair's matches and limits
    ("Jordan: Leading · Riley: Following"), in role order. ``labels``: ``role_labels(item)``,
    when the caller has it (a row of six partners has fifteen pairs)."""
    lines = []
    labels = role_labels(item) if labels is None else labels
    for p in result.pairings:
        role_a, role_b = labels.get(p.role_a, p.role_a), labels.get(p.role_b, p.role_b)
        if p.cls == "complementary":
            lines.append(f"{name_a}: {role_a} · {name_b}: {role_b}")
        elif p.cls == "mutual":
            lines.append("Both want it" if len(item["roles"]) == 1 else f"Both: {role_a}")
        elif p.cls in ("limit", "limit_collision"):
            limited = [
                f"{who}'s hard limit: {role}"
                for who, role, key, limits in (
                    (name_a, role_a, p.role_a, result.limits_a),
                    (name_b, role_b, p.role_b, result.limits_b),
                )
                if key in limits
            ]
            if p.cls == "limit_collision":
                wishes = []
                if p.role_a in result.limits_a and p.answer_b in POSITIVE:
                    wishes.append(f"{name_b} wants {role_b}")
                if p.role_b in result.limits_b and p.answer_a in POSITIVE:
                    wishes.append(f"{name_a} wants {role_a}")
                limited.append(" and ".join(wishes))
            lines.append(" · ".join(limited))
    return list(dict.fromkeys(lines))
