"""Scored outcome measures: a definition's ``scores`` rules applied to one partner's answers.

Pure functions on plain data (no Flask, no database), so the counselor pages, the clinical
record and the partner filter compute a score the same way. A rule names its items, sums or
averages their numeric answers (reverse-coding some), tolerates at most ``max_missing``
unanswered items by prorating from the answered ones, and reads its cut-offs: the last cut-off
whose ``at_least`` the score reaches gives the interpretation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from counselor.questionnaires.engine import Definition, as_number, enabled_states

SCORE_METHODS = ("sum", "mean")
SCORE_SHARES = ("counselor_only", "shared")


@dataclass(frozen=True)
class Score:
    """One rule's result for one partner: a value with its reading, or why there is none."""

    key: str
    title: str
    value: Decimal | None
    #: the cut-off's interpretation for the value ("" when the rule has no cut-offs)
    interpretation: str
    #: why there is no value ("" when scored)
    reason: str
    answered: int
    total: int
    prorated: bool
    source: str
    share: str

    @property
    def scored(self) -> bool:
        return self.value is not None

    @property
    def shown(self) -> str:
        """The value as text: whole numbers without decimals, others to two places."""
        if self.value is None:
            return "not scored"
        if self.value == self.value.to_integral_value():
            return str(int(self.value))
        return str(self.value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _reverse_of(rule: dict) -> dict[str, tuple[Decimal, Decimal]]:
    return {
        r["item"]: (Decimal(str(r["min"])), Decimal(str(r["max"])))
        for r in rule.get("reverse") or ()
    }


def _item_value(
    rule: dict, lid: str, answers: Mapping[str, Any], shown: Mapping[str, bool]
) -> Decimal | None:
    """The numeric contribution of one item, or None when it counts as missing."""
    if not shown.get(lid, True) and "hidden_as" in rule:
        # e.g. AUDIT-C: someone who never drinks is not asked how much, and that counts as 0
        return Decimal(str(rule["hidden_as"]))
    value = answers.get(lid) if shown.get(lid, True) else None
    number = as_number(value)
    if number is None:
        return None  # unanswered, or a non-numeric choice such as "I'd rather talk about it"
    reverse = _reverse_of(rule).get(lid)
    return reverse[0] + reverse[1] - number if reverse else number


def interpret(rule: dict, value: Decimal) -> str:
    """The interpretation of the highest cut-off the value reaches ("" below all of them)."""
    text = ""
    for cut in rule.get("cutoffs") or ():
        if value >= Decimal(str(cut["at_least"])):
            text = cut["text"]
    return text


def score(rule: dict, answers: Mapping[str, Any], shown: Mapping[str, bool] | None = None) -> Score:
    """One rule applied to one partner's answers (``shown``: enable_when states, if known)."""
    shown = shown or {}
    items = list(rule["items"])
    values = [_item_value(rule, lid, answers, shown) for lid in items]
    got = [v for v in values if v is not None]
    missing = len(items) - len(got)
    allowed = int(rule.get("max_missing", 0))
    common = {
        "key": rule["key"],
        "title": rule["title"],
        "answered": len(got),
        "total": len(items),
        "source": rule.get("source", ""),
        "share": rule.get("share", "counselor_only"),
    }
    if missing > allowed or not got:
        reason = (
            "no items answered"
            if not got
            else f"{missing} of {len(items)} items unanswered; "
            + (f"at most {allowed} may be missing" if allowed else "every item is needed")
        )
        return Score(value=None, interpretation="", reason=reason, prorated=False, **common)
    total = sum(got, Decimal(0))
    # Prorating: the missing items are taken to sit at the mean of the answered ones
    # (multiplying before dividing keeps a full sum exact: 3+3+4 is 10, not 9.99…).
    value = total / len(got) if rule["method"] == "mean" else total * len(items) / len(got)
    return Score(
        value=value,
        interpretation=interpret(rule, value),
        reason="",
        prorated=missing > 0,
        **common,
    )


def scores(
    defn: Definition, answers: Mapping[str, Any], *, shared_only: bool = False
) -> list[Score]:
    """Every score rule of a definition for one partner's answers, in the definition's order.

    Rules naming an item the (possibly narrowed) definition does not hold are left out: a
    section the counselor did not assign cannot be scored.
    """
    rules = score_rules(defn, shared_only=shared_only)
    if not rules:
        return []
    shown = enabled_states(defn, answers)
    return [score(rule, answers, shown) for rule in rules]


def score_rules(defn: Definition, *, shared_only: bool = False) -> list[dict]:
    """The score rules ``scores`` applies (only those marked shared, if asked): a caller
    with none to apply need not read any answer."""
    return [
        r
        for r in defn.doc.get("scores") or ()
        if all(lid in defn.by_id for lid in r["items"])
        and (not shared_only or r.get("share") == "shared")
    ]
