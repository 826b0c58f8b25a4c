"""Pure operations of the questionnaire builder on a definition (a plain dict).

No Flask, no database: the builder's routes and services, and the tests, call these. The
editing itself happens in the browser (static/js/builder.js) on the same JSON, and every
saved definition goes through ``schema.validate_definition``, the one validator.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from counselor.questionnaires import engine
from counselor.questionnaires.schema import ANSWERABLE, SCORABLE
from counselor.questionnaires.values import as_number

#: the path of an item inside a definition, as the validator names it: $.items[0].items[3]
_ITEM_PATH = re.compile(r"^\$\.items\[\d+\](?:\.items\[\d+\])*")
_SCORE_PATH = re.compile(r"^\$\.scores\[\d+\]")
SLUG_MAX = 64
#: the item types in a counselor's words (static/js/builder.js names them alike)
TYPE_LABELS = {
    "group": "Group of questions",
    "display": "Text to read",
    "boolean": "Yes / no",
    "choice": "Choice",
    "open-choice": "Choice or own words",
    "string": "Short text",
    "text": "Long text",
    "integer": "Whole number",
    "decimal": "Number",
    "date": "Date",
    "scale": "Scale",
    "desire": "Desire",
}


def blank(slug: str) -> dict:
    """A new questionnaire: one section with one question, ready to be edited."""
    return {
        "slug": slug,
        "title": "Untitled questionnaire",
        "purpose": "What this questionnaire is for (only you see this line).",
        "kind": "exercise",
        "estimated_minutes": 10,
        "items": [
            {
                "link_id": "section-1",
                "type": "group",
                "text": "Section 1",
                "items": [{"link_id": "item-1", "type": "text", "text": "Your first question"}],
            }
        ],
    }


def unique_slug(base: str, taken: set[str]) -> str:
    """``base`` made a valid slug not in ``taken`` (``intake-copy``, ``intake-copy-2``, …)."""
    slug = re.sub(r"[^a-z0-9-]+", "-", base.lower()).strip("-")[: SLUG_MAX - 4] or "questionnaire"
    if len(slug) < 2:
        slug = f"{slug}-q"
    found, n = slug, 1
    while found in taken:
        n += 1
        found = f"{slug}-{n}"
    return found


def clone(doc: dict, slug: str) -> dict:
    """A copy of a definition under a new slug, titled as a copy, to edit as one's own."""
    out = copy.deepcopy(doc)
    out["slug"] = slug
    suffix = " (copy)"
    out["title"] = doc["title"][: 200 - len(suffix)] + suffix
    return out


#: JSON Schema's wording of the commonest mistakes in the builder, in a counselor's words
_PLAIN = (
    (re.compile(r"^'' should be non-empty$"), "is empty; write something here"),
    (re.compile(r"^\[\] should be non-empty$"), "choose at least one"),
)


def _plain(reason: str) -> str:
    for pattern, words in _PLAIN:
        if pattern.match(reason):
            return words
    return reason


def problems_by_place(errors: list[str]) -> dict[str, Any]:
    """The validator's "path: reason" lines grouped by where the builder shows them.

    ``items`` maps an item's path (``$.items[0].items[2]``) to the problems of that item, each
    without the item's own path (``enable_when: question 'x' must be an earlier item``);
    ``scores`` does the same for scoring rules; everything else is ``general``.
    """
    out: dict[str, Any] = {"items": {}, "scores": {}, "general": []}
    for line in errors:
        path, _, reason = line.partition(": ")
        reason = _plain(reason)
        for key, pattern in (("items", _ITEM_PATH), ("scores", _SCORE_PATH)):
            found = pattern.match(path)
            if found:
                rest = path[found.end() :].lstrip(".")
                out[key].setdefault(found.group(0), []).append(
                    f"{rest}: {reason}" if rest else reason
                )
                break
        else:
            out["general"].append(f"{path}: {reason}")
    return out


def preview_context(doc: dict) -> dict:
    """What the phone preview needs to behave as the portal: every section on one page, each
    follow-up with its rules (``page_conditions``, as the portal's page gets them) and each
    stop with its rule, under the card (top-level item of a section) that holds it."""
    defn = engine.Definition(doc)
    everything = engine.Section(0, "", "", "", [i for s in defn.sections for i in s.items])
    conditions = engine.page_conditions(defn, everything, {})
    item_ids = {
        card["link_id"]: {i["link_id"] for i in engine.walk([card])}
        for section in defn.sections
        for card in section.items
    }
    stops = [
        {"item": item, "rule": json.dumps(item["stop_if"])}
        for item in engine.walk(everything.items)
        if item.get("stop_if")
    ]
    return {"defn": defn, "conditions": conditions, "item_ids": item_ids, "stops": stops}


def items_with_paths(doc: dict) -> list[tuple[str, dict]]:
    """(path as the validator names it, item) of every item, in document order (groups
    nest at most MAX_NESTING deep in a stored definition)."""
    out: list[tuple[str, dict]] = []

    def visit(path: str, items: list) -> None:
        for n, item in enumerate(items):
            here = f"{path}[{n}]"
            out.append((here, item))
            if item.get("type") == "group":
                visit(here + ".items", item.get("items") or [])

    visit("$.items", doc.get("items") or [])
    return out


def earlier_questions(doc: dict, link_id: str) -> list[dict]:
    """The questions before an item, which its conditions may read."""
    out = []
    for _, item in items_with_paths(doc):
        if item["link_id"] == link_id:
            break
        if item["type"] in ANSWERABLE:
            out.append(item)
    return out


def scorable(doc: dict) -> list[dict]:
    """The items a score can add up: scale, number and single choice questions."""
    return [
        item
        for _, item in items_with_paths(doc)
        if item["type"] in SCORABLE and not (item["type"] == "choice" and item.get("multiple"))
    ]


def answer_range(item: dict) -> tuple[float, float]:
    """The lowest and highest answer of a scored item (a reverse-scored one counts
    lowest + highest - answer)."""
    if item["type"] == "choice":
        numbers = [as_number(o["value"]) for o in item.get("options") or ()]
        numbers = [n for n in numbers if n is not None]
        return (plain_number(min(numbers)), plain_number(max(numbers))) if numbers else (0, 1)
    low, high = as_number(item.get("min")), as_number(item.get("max"))
    return (0 if low is None else plain_number(low), 10 if high is None else plain_number(high))


def plain_number(number: Any) -> int | float:
    """A Decimal (or any finite number) as the int or float a definition holds."""
    return int(number) if float(number).is_integer() else float(number)


_YES, _NO = ("yes", "true", "y"), ("no", "false", "n")


def answer_from_text(question: dict, text: str) -> Any:
    """What a counselor typed as the answer a rule compares with, as the definition holds
    it: True/False for yes/no, a number for number and scale questions, an answer's value
    for a choice (its words or its stored value). ValueError says what to type instead."""
    text = text.strip()
    kind = question["type"]
    if kind == "boolean":
        if text.lower() in _YES:
            return True
        if text.lower() in _NO:
            return False
        raise ValueError("Write yes or no.")
    if kind in ("integer", "scale", "decimal"):
        number = as_number(text.replace(",", "."))
        if number is None:
            raise ValueError("Write a number.")
        if kind != "decimal" and not float(number).is_integer():
            raise ValueError("Write a whole number.")
        return plain_number(number)
    if kind in ("choice", "open-choice"):
        for option in question.get("options") or ():
            if (
                text in (option["value"], option["label"])
                or text.lower() == option["label"].lower()
            ):
                return option["value"]
        if kind == "choice":
            words = "; ".join(o["label"] for o in question.get("options") or ())
            raise ValueError(f"Write one of its answers: {words}.")
    if not text:
        raise ValueError("Write the answer to compare with.")
    return text


def answer_as_text(question: dict | None, value: Any) -> str:
    """The answer a rule compares with, as the plain form shows it (answer_from_text reads
    it back)."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return ""
    if question and question["type"] == "choice":
        for option in question.get("options") or ():
            if option["value"] == value:
                return option["label"]
    return str(value)


def shorten(text: str, n: int = 70) -> str:
    """A question's text cut to fit a picker."""
    return text if len(text) <= n else text[: n - 1] + "…"
