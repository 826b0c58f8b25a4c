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

The pair's class for the item is the most pressing pairing class, except that a hard limit
marked by either partner overrides everything: ``limit_collision`` when the other partner
said yes or want-to-try anywhere on the item, otherwise ``limit`` (a limit nobody runs into).
Two partners who both want only the same one-sided role (both only give) do not match.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

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


@dataclass(frozen=True)
class Pairing:
    """One role of partner A paired with one role of partner B."""

    role_a: str
    role_b: str
    answer_a: str | None
    answer_b: str | None
    cls: str


@dataclass
class PairResult:
    """How two partners' answers to one desire item relate."""

    link_id: str
    partner_a: Any
    partner_b: Any
    cls: str
    pairings: list[Pairing] = field(default_factory=list)

    @property
    def matches(self) -> list[Pairing]:
        """The pairings that are mutual or complementary (what partners may see)."""
        if self.cls in ("limit", "limit_collision"):
            return []
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


def _roles_of(answer: Mapping | None) -> dict:
    return dict((answer or {}).get("roles") or {})


def compare_pair(
    item: dict, a_key: Any, a_answer: Mapping | None, b_key: Any, b_answer: Mapping | None
) -> PairResult:
    """Classify one desire item for one pair of partners."""
    ra, rb = _roles_of(a_answer), _roles_of(b_answer)
    pairings = []
    for role in item["roles"]:
        other = role.get("counterpart", role["key"])
        pairings.append(
            Pairing(
                role["key"],
                other,
                ra.get(role["key"]),
                rb.get(other),
                classify_pairing(
                    ra.get(role["key"]), rb.get(other), shared_role="counterpart" not in role
                ),
            )
        )
    limit_a = bool((a_answer or {}).get("hard_limit"))
    limit_b = bool((b_answer or {}).get("hard_limit"))
    if limit_a or limit_b:
        other_positive = (limit_a and any(v in POSITIVE for v in rb.values())) or (
            limit_b and any(v in POSITIVE for v in ra.values())
        )
        cls = "limit_collision" if other_positive else "limit"
    elif not ra or not rb:
        cls = "unanswered"
    else:
        present = {p.cls for p in pairings}
        # A match in one direction is what the pair can build on; otherwise the most pressing.
        order = ("complementary", "mutual", "mismatch", "discuss", "unanswered", "neither")
        cls = next(c for c in order if c in present)
    return PairResult(item["link_id"], a_key, b_key, cls, pairings)


def compare_item(item: dict, answers_by_partner: Mapping[Any, Mapping | None]) -> list[PairResult]:
    """Every pair of partners (in the given order) for one desire item."""
    keys = list(answers_by_partner)
    return [
        compare_pair(item, a, answers_by_partner[a], b, answers_by_partner[b])
        for a, b in combinations(keys, 2)
    ]


def counts(results: list[PairResult]) -> dict[str, int]:
    """How many item-pairs fall in each class, in counselor order."""
    out = {c: 0 for c in CLASS_ORDER}
    for r in results:
        out[r.cls] += 1
    return out
