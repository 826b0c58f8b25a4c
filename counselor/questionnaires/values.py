"""One answer value read alike everywhere: as a number, compared, answered or not (pure).

A hard limit belongs to a role; answers saved before that carry ``"hard_limit": bool`` for
the whole item, which ``desire_value`` reads as a limit per role.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

import orjson

#: a plain decimal numeral: what a stored decimal answer looks like, and all a text answer
#: must look like to count as a number (no spaces, no "NaN", "Infinity" or "0x10")
_NUMERAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")


def as_number(value: Any) -> Decimal | None:
    """The exact finite value of a number or a numeral string; None for anything else.

    A value out of a double's range ("1e999") is no number either, so the portal's script,
    which works in doubles, decides every condition as the server does.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # str() of a float is its shortest round-trip form: 2.5 -> "2.5", 0.1 -> "0.1"
        return Decimal(str(value)) if math.isfinite(value) else None
    if isinstance(value, str) and len(value) <= 100 and _NUMERAL.match(value):
        number = Decimal(value)
        return number if math.isfinite(float(number)) else None
    return None


def _kind(value: Any) -> tuple[str, Any]:
    if isinstance(value, bool):
        return "boolean", value
    number = as_number(value)
    if number is not None:
        return "number", number
    if isinstance(value, str):
        return "text", value
    return "other", value


def compare_values(op: str, have: Any, want: Any) -> bool:
    """An answer against a wanted value: the one rule for enable_when and alerts.

    Each side is a boolean, a number (a JSON number or a numeral string such as a stored
    decimal answer "2.50", compared by exact value, so "2.5" = 2.5), or text (compared
    character by character; a date "YYYY-MM-DD" orders as text does). Values of different
    kinds are never equal and have no order: only ``!=`` holds. Booleans have no order. A
    multiple choice meets ``op`` when any chosen value does, and ``!=`` when none equals
    ``want``. Nothing raises: "NaN", "Infinity" or "1e999" typed into a text item are text.
    The portal's script (static/js/portal.js) mirrors this rule.
    """
    if isinstance(have, list):
        if op == "!=":
            return not any(compare_values("=", h, want) for h in have)
        return any(compare_values(op, h, want) for h in have)
    kind_have, a = _kind(have)
    kind_want, b = _kind(want)
    if kind_have != kind_want or kind_have == "other":
        return op == "!="
    if op == "=":
        return a == b
    if op == "!=":
        return a != b
    if kind_have == "boolean":
        return False
    return {">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}.get(op, False)


def has_answer(value: Any) -> bool:
    """Whether a stored value counts as answered (an empty desire or blank text does not)."""
    if value is None or value == "" or value == []:
        return False
    if isinstance(value, dict):  # most desire answers have roles: asked first
        return bool(value.get("roles")) or any(value.get(k) for k in _ANSWERED_KEYS)
    return True


#: the keys of a stored desire answer
DESIRE_KEYS = frozenset({"roles", "limits", "fantasy", "experience", "note"})
#: any of these set makes a desire answer count as answered (older answers carry hard_limit)
_ANSWERED_KEYS = DESIRE_KEYS | {"hard_limit"}


def older_desire_shape(value: dict) -> bool:
    """Whether a stored desire answer carries an older answer's item-wide limit
    (``hard_limit``) that ``desire_value`` turns into limits per role."""
    return bool(value.get("hard_limit")) and not value.get("limits")


def desire_value(item: dict, value: Any) -> dict:
    """A stored desire answer in today's shape (an item-wide limit of older answers becomes a
    limit on every role the partner answered, or on every role when none was answered)."""
    value = value if isinstance(value, dict) else {}
    roles = dict(value.get("roles") or {})
    limits = list(value.get("limits") or ())
    if older_desire_shape(value):
        keys = [r["key"] for r in item["roles"]]
        limits = [k for k in keys if roles.get(k)] or keys
    return {
        "roles": roles,
        "limits": limits,
        "fantasy": bool(value.get("fantasy")),
        "experience": value.get("experience") or "",
        "note": value.get("note") or "",
    }


def parsed_answers(data: bytes | memoryview) -> dict:
    """One JSON object of stored answers (``models.StoredAnswers``'s parts)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        # No answer holds NaN or an infinity now (orjson refuses both), but one stored before
        # they were refused reads as unanswered rather than breaking every page that shows it.
        return json.loads(bytes(data), parse_constant=lambda _: None, parse_float=_finite_or_none)


def non_finite(value) -> bool:
    """Whether ``value`` holds a float that is NaN or infinite, at any depth."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(non_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(non_finite(v) for v in value)
    return False


def _finite_or_none(text: str) -> float | None:
    number = float(text)  # "1e999" parses as infinity
    return number if math.isfinite(number) else None
