"""The questionnaire definition format: a JSON Schema plus the checks a schema cannot express.

Reading a definition's text (the size limits, JSON that cannot crash the parser) is
``counselor.questionnaires.parsing``; ``validate_definition`` here checks what it read.

Item types follow HL7 FHIR R4 Questionnaire (group, display, boolean, choice, open-choice,
string, text, integer, decimal, date) plus ``scale`` and ``desire``. Every answerable item has
a ``share`` level deciding who may ever see its answers (see DESIGN.md, reveal rules).
"""

from __future__ import annotations

import math
from typing import Any

from jsonschema import Draft202012Validator

from counselor.questionnaires.parsing import (
    MAX_CHAIN,
    MAX_CONDITIONS,
    MAX_OPTIONS,
    non_finite_numbers,
    size_problems,
)
from counselor.questionnaires.trends import BASELINES as TREND_BASELINES
from counselor.questionnaires.trends import MAX_OVER as MAX_TREND_OVER

ITEM_TYPES = (
    "group",
    "display",
    "boolean",
    "choice",
    "open-choice",
    "string",
    "text",
    "integer",
    "decimal",
    "date",
    "scale",
    "desire",
)
ANSWERABLE = tuple(t for t in ITEM_TYPES if t not in ("group", "display"))
SHARE_LEVELS = ("counselor_only", "mutual", "shared")
#: who may see an item's answers when the author says nothing: desires are revealed only on a
#: match, everything else stays with the counselor unless the author marks it shared
DEFAULT_SHARE = {"desire": "mutual"}
DESIRE_ANSWERS = ("yes", "want_to_try", "if_partner", "maybe", "no")
DESIRE_LABELS = {
    "yes": "Yes",
    "want_to_try": "Want to try",
    "if_partner": "Only if my partner wants it",
    "maybe": "Maybe",
    "no": "No",
}
#: whether a partner has done a desire item's activity before; never shown to another partner
EXPERIENCE = ("liked", "disliked", "never")
EXPERIENCE_LABELS = {
    "liked": "Done it and liked it",
    "disliked": "Done it and did not like it",
    "never": "Never done it",
}
#: how urgently a counselor should look at a raised alert; a rule that names none is "review"
ALERT_SEVERITIES = ("urgent", "review", "info")
DEFAULT_SEVERITY = "review"
OPERATORS = ("exists", "=", "!=", ">", "<", ">=", "<=")
LINK_ID = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


def _closed(required: list[str], properties: dict) -> dict:
    """A JSON object with only these properties, of which the ``required`` ones must be there."""
    return {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": properties,
    }


_option = _closed(
    ["value", "label"],
    {
        "value": {"type": "string", "minLength": 1, "maxLength": 64},
        "label": {"type": "string", "minLength": 1, "maxLength": 300},
    },
)
_role = _closed(
    ["key", "label"],
    {
        "key": {"type": "string", "pattern": r"^[a-z][a-z0-9_]{0,31}$"},
        "label": {"type": "string", "minLength": 1, "maxLength": 120},
        #: the role that completes this one (give/receive); absent for a shared role
        "counterpart": {"type": "string", "pattern": r"^[a-z][a-z0-9_]{0,31}$"},
    },
)
_answer_value = {"type": ["string", "number", "boolean"]}
_enable_when = _closed(
    ["question", "operator"],
    {
        "question": {"type": "string", "pattern": LINK_ID},
        "operator": {"enum": list(OPERATORS)},
        "answer": _answer_value,
    },
)
_alert = _closed(
    ["operator", "answer", "message"],
    {
        "operator": {"enum": ["=", "!=", ">", "<", ">=", "<="]},
        "answer": _answer_value,
        "message": {"type": "string", "minLength": 1, "maxLength": 300},
        "severity": {"enum": list(ALERT_SEVERITIES)},
    },
)
#: a change from the partner's own baseline over repeated answers (check-ins, debriefs,
#: re-takes) that raises an alert; see counselor.questionnaires.trends for how it is read
_trend = {
    **_closed(
        ["message"],
        {
            "rise": {"type": "number", "exclusiveMinimum": 0},
            "fall": {"type": "number", "exclusiveMinimum": 0},
            "over": {"type": "integer", "minimum": 1, "maximum": MAX_TREND_OVER},
            "baseline": {"enum": list(TREND_BASELINES)},
            "message": {"type": "string", "minLength": 1, "maxLength": 300},
            "severity": {"enum": list(ALERT_SEVERITIES)},
        },
    ),
    "oneOf": [{"required": ["rise"]}, {"required": ["fall"]}],
}
#: an instrument a definition cites or adapts, and the terms its wording is used under
_source = _closed(
    ["citation", "licence"],
    {
        "citation": {"type": "string", "minLength": 1, "maxLength": 600},
        "licence": {"type": "string", "minLength": 1, "maxLength": 600},
        #: which items use it, and whether its wording is exact, adapted or only its idea
        "use": {"type": "string", "maxLength": 600},
    },
)

#: a stop in the portal: an answer after which a partner cannot go on (e.g. under 18)
_stop_if = _closed(
    ["operator", "answer", "message"],
    {
        "operator": {"enum": ["=", "!=", ">", "<", ">=", "<="]},
        "answer": _answer_value,
        #: shown to the partner in place of the next page: say why, kindly, and whom to reach
        "message": {"type": "string", "minLength": 1, "maxLength": 1000},
    },
)
_cutoff = _closed(
    ["at_least", "text"],
    {
        "at_least": {"type": "number"},
        "text": {"type": "string", "minLength": 1, "maxLength": 400},
    },
)
#: a scored outcome measure over numeric answers (see counselor/questionnaires/scoring.py)
_score = _closed(
    ["key", "title", "method", "items", "source"],
    {
        "key": {"type": "string", "pattern": r"^[a-z][a-z0-9_]{0,31}$"},
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
        "method": {"enum": ["sum", "mean"]},
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": 200,
            "items": {"type": "string", "pattern": LINK_ID},
        },
        "reverse": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["item", "min", "max"],
                "additionalProperties": False,
                "properties": {
                    "item": {"type": "string", "pattern": LINK_ID},
                    "min": {"type": "number"},
                    "max": {"type": "number"},
                },
            },
        },
        #: unanswered items tolerated (prorated from the answered ones); more → not scored
        "max_missing": {"type": "integer", "minimum": 0},
        #: what an item hidden by its enable_when counts as; without it a hidden item is missing
        "hidden_as": {"type": "number"},
        "cutoffs": {"type": "array", "minItems": 1, "maxItems": 20, "items": _cutoff},
        #: where the scoring and cut-offs come from, or that the score is practice-defined
        "source": {"type": "string", "minLength": 1, "maxLength": 1000},
        #: shared: a partner sees their own score (never another's) once results are released
        "share": {"enum": ["counselor_only", "shared"]},
    },
)

ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["link_id", "type", "text"],
    "additionalProperties": False,
    "properties": {
        "link_id": {"type": "string", "pattern": LINK_ID},
        "type": {"enum": list(ITEM_TYPES)},
        "text": {"type": "string", "minLength": 1, "maxLength": 2000},
        "help": {"type": "string", "maxLength": 2000},
        "required": {"type": "boolean"},
        "share": {"enum": list(SHARE_LEVELS)},
        "enable_when": {"type": "array", "minItems": 1, "items": _enable_when},
        "enable_behavior": {"enum": ["all", "any"]},
        "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/item"}},
        "options": {"type": "array", "minItems": 2, "items": _option},
        "multiple": {"type": "boolean"},
        "min": {"type": "number"},
        "max": {"type": "number"},
        "min_label": {"type": "string", "maxLength": 120},
        "max_label": {"type": "string", "maxLength": 120},
        "max_length": {"type": "integer", "minimum": 1, "maximum": 20000},
        "roles": {"type": "array", "minItems": 1, "maxItems": 4, "items": _role},
        #: a caution shown with a high-risk desire item: why it is listed (so a partner can
        #: say "hard limit"), never an invitation
        "advisory": {"type": "string", "minLength": 1, "maxLength": 1000},
        "alert": _alert,
        "trend": _trend,
        "stop_if": _stop_if,
    },
    "allOf": [
        {"if": {"properties": {"type": {"const": "group"}}}, "then": {"required": ["items"]}},
        {
            "if": {"properties": {"type": {"enum": ["choice", "open-choice"]}}},
            "then": {"required": ["options"]},
        },
        {"if": {"properties": {"type": {"const": "desire"}}}, "then": {"required": ["roles"]}},
        {
            "if": {"properties": {"type": {"const": "scale"}}},
            "then": {
                "required": ["min", "max", "min_label", "max_label"],
                "properties": {"min": {"enum": [0, 1]}, "max": {"enum": [5, 10]}},
            },
        },
        {
            "if": {"properties": {"type": {"not": {"const": "group"}}}},
            "then": {"not": {"required": ["items"]}},
        },
    ],
}

DEFINITION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["slug", "title", "purpose", "kind", "items"],
    "additionalProperties": False,
    "$defs": {"item": ITEM_SCHEMA},
    "properties": {
        "slug": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]{1,63}$"},
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
        #: one line for the counselor: what this is for
        "purpose": {"type": "string", "minLength": 1, "maxLength": 400},
        "kind": {
            "enum": ["intake", "exercise", "agreement", "debrief", "check-in", "reflection", "plan"]
        },
        #: shown to partners on the first page
        "intro": {"type": "string", "maxLength": 4000},
        "estimated_minutes": {"type": "integer", "minimum": 1, "maximum": 240},
        "sources": {"type": "array", "minItems": 1, "maxItems": 20, "items": _source},
        "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/item"}},
        "scores": {"type": "array", "minItems": 1, "maxItems": 20, "items": _score},
    },
}

_validator = Draft202012Validator(DEFINITION_SCHEMA)


def _path(parts) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def _walk(items: Any, path: str = "$.items", parent: dict | None = None):
    """(path, item, enclosing group) in document order.

    Tolerates a document the schema refused, so its other mistakes are reported too.
    """
    if not isinstance(items, list):
        return
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        here = f"{path}[{n}]"
        yield here, item, parent
        if item.get("type") == "group":
            yield from _walk(item.get("items"), here + ".items", item)


def _dicts(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _rules(doc: dict) -> list[str]:
    """The checks a JSON Schema cannot express (unique ids, earlier questions, ranges)."""
    errors: list[str] = []
    seen: dict[str, dict] = {}
    #: how many conditions deep each item is shown (0 = always), to bound the chains
    chain: dict[str, int] = {}
    for here, item, parent in _walk(doc.get("items")):
        lid, kind = item.get("link_id"), item.get("type")
        if isinstance(lid, str) and lid in seen:
            errors.append(f"{here}.link_id: '{lid}' is used twice; link_ids must be unique")
        conditions = _dicts(item.get("enable_when"))
        if len(conditions) > MAX_CONDITIONS:
            errors.append(
                f"{here}.enable_when: {len(conditions)} conditions; at most {MAX_CONDITIONS}"
            )
        if len(_dicts(item.get("options"))) > MAX_OPTIONS:
            errors.append(f"{here}.options: more than {MAX_OPTIONS} options")
        depth = chain.get(parent.get("link_id"), 0) if parent else 0
        for cond in conditions:
            if isinstance(cond.get("question"), str):
                depth = max(depth, chain.get(cond["question"], 0) + 1)
        if depth > MAX_CHAIN:
            errors.append(
                f"{here}.enable_when: conditions chain {depth} deep here (an item shown after "
                f"one that is itself shown after another, and so on); at most {MAX_CHAIN}"
            )
            depth = 0  # report where the limit is crossed, not every item after it
        if isinstance(lid, str) and lid not in chain:
            chain[lid] = depth
        for cond in conditions:
            question = cond.get("question")
            if not isinstance(question, str):
                continue
            target = seen.get(question)
            if target is None:
                errors.append(f"{here}.enable_when: question '{question}' must be an earlier item")
            elif target.get("type") not in ANSWERABLE:
                errors.append(f"{here}.enable_when: '{question}' is not a question")
            elif (
                cond.get("operator") in OPERATORS
                and cond["operator"] != "exists"
                and ("answer" not in cond)
            ):
                errors.append(f"{here}.enable_when: operator '{cond['operator']}' needs an answer")
        if kind in ("group", "display") and ("share" in item or "required" in item):
            errors.append(f"{here}: a {kind} item has no answer, so no share or required")
        if _number(item.get("min")) and _number(item.get("max")) and item["min"] >= item["max"]:
            errors.append(f"{here}: min must be below max")
        if kind in ("choice", "open-choice"):
            values = [o.get("value") for o in _dicts(item.get("options"))]
            if len(set(map(str, values))) != len(values):
                errors.append(f"{here}.options: option values must be unique")
        if kind == "desire":
            roles = _dicts(item.get("roles"))
            keys = [r.get("key") for r in roles]
            if len(set(map(str, keys))) != len(keys):
                errors.append(f"{here}.roles: role keys must be unique")
            by_key = {r.get("key"): r for r in roles}
            for r in roles:
                other = by_key.get(r.get("counterpart")) if "counterpart" in r else None
                if "counterpart" in r and other is None:
                    errors.append(
                        f"{here}.roles: counterpart '{r['counterpart']}' is not a role here"
                    )
                elif other is not None and other.get("counterpart") != r.get("key"):
                    # A one-way pair would make "both only receive" look like a mutual match.
                    mine, theirs = r.get("key"), other.get("key")
                    errors.append(
                        f"{here}.roles: '{mine}' names '{theirs}' as counterpart, "
                        f"so '{theirs}' must name '{mine}' back"
                    )
        if "advisory" in item and kind != "desire":
            errors.append(f"{here}.advisory: only desire items carry an advisory")
        if "alert" in item and kind not in ("boolean", "choice", "scale", "integer", "decimal"):
            errors.append(f"{here}.alert: alerts work on boolean, choice, scale and number items")
        errors += _trend_rule(here, item)
        if "stop_if" in item and kind not in ("boolean", "choice", "scale", "integer", "decimal"):
            errors.append(
                f"{here}.stop_if: a stop works on boolean, choice, scale and number items"
            )
        if isinstance(lid, str) and lid not in seen:
            seen[lid] = item
    return errors + _score_rules(doc, seen)


def _trend_rule(here: str, item: dict) -> list[str]:
    """A trend rule watches a number answer, by fewer points than its scale spans."""
    rule = item.get("trend")
    if not isinstance(rule, dict):
        return []
    if item.get("type") not in ("scale", "integer", "decimal"):
        return [f"{here}.trend: a trend rule works on scale and number items"]
    points = rule.get("rise", rule.get("fall"))
    low, high = item.get("min"), item.get("max")
    if _number(points) and _number(low) and _number(high) and points > high - low:
        return [
            f"{here}.trend: a change of {points:g} points cannot happen on a scale from "
            f"{low:g} to {high:g}"
        ]
    return []


#: item types whose answers can be numbers a score adds up
SCORABLE = ("scale", "integer", "decimal", "choice")


def _score_rules(doc: dict, items: dict[str, dict]) -> list[str]:
    """A score names answerable numeric items once each, and its cut-offs rise."""
    errors: list[str] = []
    keys: set[str] = set()
    for n, rule in enumerate(_dicts(doc.get("scores"))):
        here = f"$.scores[{n}]"
        key = rule.get("key")
        if isinstance(key, str):
            if key in keys:
                errors.append(f"{here}.key: '{key}' is used twice; score keys must be unique")
            keys.add(key)
        named = [i for i in rule.get("items") or () if isinstance(i, str)]
        if len(set(named)) != len(named):
            errors.append(f"{here}.items: an item is named twice")
        for i, lid in enumerate(named):
            item = items.get(lid)
            if item is None:
                errors.append(f"{here}.items[{i}]: '{lid}' is not an item of this definition")
            elif item.get("type") not in SCORABLE:
                errors.append(
                    f"{here}.items[{i}]: '{lid}' is a {item.get('type')} item; scores add up "
                    "scale, integer, decimal and choice answers"
                )
            elif item.get("type") == "choice" and item.get("multiple"):
                errors.append(f"{here}.items[{i}]: '{lid}' allows several answers; one is needed")
            elif item.get("type") == "choice" and not any(
                _numeral(o.get("value")) for o in _dicts(item.get("options"))
            ):
                errors.append(f"{here}.items[{i}]: '{lid}' has no option whose value is a number")
        for r, rev in enumerate(_dicts(rule.get("reverse"))):
            if isinstance(rev.get("item"), str) and rev["item"] not in named:
                errors.append(
                    f"{here}.reverse[{r}].item: '{rev['item']}' is not one of this score's items"
                )
            if _number(rev.get("min")) and _number(rev.get("max")) and rev["min"] >= rev["max"]:
                errors.append(f"{here}.reverse[{r}]: min must be below max")
        missing = rule.get("max_missing")
        if isinstance(missing, int) and named and missing >= len(named):
            errors.append(
                f"{here}.max_missing: {missing} would allow a score with no item answered; "
                f"at most {len(named) - 1}"
            )
        cuts = [c.get("at_least") for c in _dicts(rule.get("cutoffs"))]
        if all(_number(c) for c in cuts) and any(
            a >= b for a, b in zip(cuts, cuts[1:], strict=False)
        ):
            errors.append(f"{here}.cutoffs: at_least values must rise from one cut-off to the next")
    return errors


def _numeral(value: Any) -> bool:
    try:
        return isinstance(value, str) and math.isfinite(float(value))
    except ValueError:
        return False


def validate_definition(doc: Any) -> list[str]:
    """Every problem with a definition as "path: reason"; an empty list means it is valid.

    Schema errors and the rules a schema cannot express are reported together, so an author
    sees every mistake at once instead of one kind per attempt.
    """
    too_big = size_problems(doc)
    if too_big:
        return too_big
    not_finite = non_finite_numbers(doc)
    if not_finite:
        return not_finite
    errors = sorted(f"{_path(e.absolute_path)}: {e.message}" for e in _validator.iter_errors(doc))
    if isinstance(doc, dict):
        errors += [e for e in _rules(doc) if e not in errors]
    return errors
