"""Trend rules: a change from a partner's own baseline across their repeated answers.

Pure: the values come in as plain numbers, oldest first. An item's ``trend`` rule (see the
definition format in README.md) names ``rise`` or ``fall`` (points), ``over`` (how many of
the latest answers the change spans, default 2) and ``baseline``: ``before`` (default: the
answer just before those latest ones) or ``first`` (the partner's first answer in the case).
The rule is met when the latest answer is at least that many points above (rise) or below
(fall) the baseline. Example: anxiety rising by 3 points over the last two check-ins is
``{"rise": 3, "over": 2}``: answers 3, 4, 6 meet it (6 is 3 above the 3 before the last two).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_OVER = 2
MAX_OVER = 12
BASELINES = ("before", "first")


@dataclass(frozen=True)
class TrendHit:
    """A met trend rule: the baseline, the latest answer, and the change between them."""

    baseline: float
    latest: float

    @property
    def change(self) -> float:
        """Latest minus baseline (positive: a rise)."""
        return self.latest - self.baseline


def numbers(values: list[object]) -> list[float]:
    """The finite numbers among answers (skipped questions and text left out)."""
    out = []
    for value in values:
        if isinstance(value, bool):
            continue
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            out.append(number)
    return out


def evaluate(rule: dict, values: list[object]) -> TrendHit | None:
    """Whether a partner's answers (oldest first, the latest last) meet ``rule``."""
    series = numbers(values)
    over = int(rule.get("over", DEFAULT_OVER))
    if len(series) < over + 1:
        return None  # not enough answers yet to speak of a change
    baseline = series[0] if rule.get("baseline") == "first" else series[-over - 1]
    hit = TrendHit(baseline, series[-1])
    if "rise" in rule and hit.change >= rule["rise"]:
        return hit
    if "fall" in rule and -hit.change >= rule["fall"]:
        return hit
    return None


def describe(rule: dict) -> str:
    """The rule in words, for the counselor (e.g. "rises by 3 or more over 2 check-ins")."""
    over = int(rule.get("over", DEFAULT_OVER))
    way, points = ("rises", rule["rise"]) if "rise" in rule else ("falls", rule.get("fall"))
    since = (
        "since the first answer"
        if rule.get("baseline") == "first"
        else f"over the last {over} answer{'s' if over != 1 else ''}"
    )
    return f"{way} by {points:g} or more {since}"
