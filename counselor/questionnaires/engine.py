"""Questionnaire logic on plain data: sections, enable_when, answer validation.

Pure functions of a definition (the validated JSON document) and an answers mapping
``{link_id: value}``. No Flask, no database: the portal, the counselor pages, the autosave
endpoint and the tests all go through the same rules.

Stored answer shapes per item type:
boolean → bool; choice → str (list[str] when ``multiple``); open-choice → str (an option
value or the partner's own words); string, text → str; integer → int; decimal → str (exact
decimal text); date → "YYYY-MM-DD"; scale → int; desire → {"roles": {role: answer},
"limits": [role], "fantasy": bool, "experience": "liked" | "disliked" | "never" | "",
"note": str}.

A hard limit belongs to a role ("giving is fine, receiving is a hard limit"). Answers saved
before that carry ``"hard_limit": bool`` for the whole item; ``desire_value`` reads them as a
limit on every role the partner answered (every role when none was answered), and
``flask answers upgrade`` rewrites them so.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from counselor.questionnaires.schema import ANSWERABLE, DEFAULT_SHARE, DESIRE_ANSWERS, EXPERIENCE

#: length limits per answer, so no single box can take the whole request budget
MAX_STRING = 1_000
MAX_TEXT = 10_000
MAX_NOTE = 2_000
MAX_INTEGER = 10**12


class AnswerError(ValueError):
    """A request carried answers that cannot belong to this questionnaire (a 4xx)."""


@dataclass
class Section:
    """One page of the portal: a top-level group (or the loose items at the top level)."""

    index: int
    link_id: str
    title: str
    help: str
    items: list[dict]


@dataclass
class Definition:
    """A validated definition with lookups the rules need."""

    doc: dict
    sections: list[Section] = field(init=False)
    by_id: dict[str, dict] = field(init=False)
    order: list[str] = field(init=False)
    parent: dict[str, dict] = field(init=False)
    #: every condition reads an earlier item (import checks it; older stored versions may not)
    in_order: bool = field(init=False)
    _section_by_id: dict[str, Section] = field(init=False, repr=False)
    _narrowed: dict[frozenset, Definition] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.by_id, self.order, self.parent = {}, [], {}
        for item in walk(self.doc["items"]):
            self.by_id[item["link_id"]] = item
            self.order.append(item["link_id"])
            for child in item.get("items", ()):
                self.parent[child["link_id"]] = item
        self.sections = []
        loose: list[dict] = []
        for item in self.doc["items"]:
            if item["type"] == "group":
                if loose:
                    self._add_section("intro", "", "", loose)
                    loose = []
                self._add_section(
                    item["link_id"], item["text"], item.get("help", ""), item["items"]
                )
            else:
                loose.append(item)
        if loose:
            self._add_section("more", "", "", loose)
        self._section_by_id = {
            i["link_id"]: section for section in self.sections for i in walk(section.items)
        }
        position = {lid: n for n, lid in enumerate(self.order)}
        self.in_order = all(
            position.get(cond["question"], -1) < position[lid]
            for lid in self.order
            for cond in self.by_id[lid].get("enable_when") or ()
        )

    def _add_section(self, link_id: str, title: str, help_: str, items: list[dict]) -> None:
        self.sections.append(Section(len(self.sections), link_id, title, help_, items))

    def only(self, section_ids: list[str] | None) -> Definition:
        """The definition with only the named sections (all of them for None or no match)."""
        keep = set(section_ids or ()) & {s.link_id for s in self.sections}
        if not keep or keep == {s.link_id for s in self.sections}:
            return self
        key = frozenset(keep)
        if key in self._narrowed:
            return self._narrowed[key]
        items = [
            i
            for s in self.sections
            if s.link_id in keep
            for i in ([self.by_id[s.link_id]] if s.link_id in self.by_id else s.items)
        ]
        self._narrowed[key] = Definition({**self.doc, "items": items})
        return self._narrowed[key]

    @property
    def title(self) -> str:
        return self.doc["title"]

    def questions(self) -> Iterator[dict]:
        """Every answerable item in document order."""
        for lid in self.order:
            item = self.by_id[lid]
            if item["type"] in ANSWERABLE:
                yield item

    def counted_questions(self) -> list[dict]:
        """The one count of questions (library, portal "x of N", review): every answerable
        item asked of everyone. A follow-up shown only for some answers (its own or an
        enclosing group's enable_when) is not counted, so N never moves while answering."""
        return [i for i in self.questions() if not self.is_follow_up(i)]

    def is_follow_up(self, item: dict) -> bool:
        """Whether the item is shown only for some answers (its own or a parent's rule)."""
        node: dict | None = item
        while node is not None:
            if node.get("enable_when"):
                return True
            node = self.parent.get(node["link_id"])
        return False

    def section_of(self, link_id: str) -> Section | None:
        """The section holding an item."""
        return self._section_by_id.get(link_id)


def walk(items: list[dict]) -> Iterator[dict]:
    """Items depth-first in document order, groups before their children."""
    for item in items:
        yield item
        if item["type"] == "group":
            yield from walk(item["items"])


def share_of(item: dict) -> str:
    """Who may see an item's answers: counselor_only, mutual or shared."""
    return item.get("share", DEFAULT_SHARE.get(item["type"], "counselor_only"))


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
    if isinstance(value, dict):
        return any(value.get(k) for k in DESIRE_KEYS | {"hard_limit"})
    return True


#: the keys of a stored desire answer
DESIRE_KEYS = frozenset({"roles", "limits", "fantasy", "experience", "note"})


def desire_value(item: dict, value: Any) -> dict:
    """A stored desire answer in today's shape (an item-wide limit of older answers becomes a
    limit on every role the partner answered, or on every role when none was answered)."""
    value = value if isinstance(value, dict) else {}
    roles = dict(value.get("roles") or {})
    limits = list(value.get("limits") or ())
    if value.get("hard_limit") and not limits:
        keys = [r["key"] for r in item["roles"]]
        limits = [k for k in keys if roles.get(k)] or keys
    return {
        "roles": roles,
        "limits": limits,
        "fantasy": bool(value.get("fantasy")),
        "experience": value.get("experience") or "",
        "note": value.get("note") or "",
    }


def enabled_states(defn: Definition, answers: Mapping[str, Any]) -> dict[str, bool]:
    """FHIR enableWhen for every item at once: {link_id: shown for these answers}.

    Each item is decided once, after the questions its conditions read and the group holding
    it, so the cost is linear in the definition. Asking item by item re-decided every
    question a condition reads, which grew exponentially with chained conditions.
    """
    states: dict[str, bool] = {}
    if defn.in_order:  # the usual case: one pass, everything an item reads decided before it
        for lid in defn.order:
            states[lid] = _shown(defn, defn.by_id[lid], answers, states)
        return states
    for lid in defn.order:
        if lid not in states:
            _decide(defn, lid, answers, states)
    return states


def _decide(defn: Definition, start: str, answers: Mapping[str, Any], states: dict) -> None:
    # Conditions name earlier items (import checks that), so a pass in document order finds
    # everything an item reads already decided; this explicit stack only serves a definition
    # stored before that check, without recursion. An item read inside a cycle counts as
    # hidden. Each item pushes what it reads once, so the work stays linear.
    pending = object()
    stack = [start]
    while stack:
        lid = stack[-1]
        if states.get(lid) in (True, False):
            stack.pop()
            continue
        item = defn.by_id[lid]
        parent = defn.parent.get(lid)
        needs = [cond["question"] for cond in item.get("enable_when") or ()]
        if parent is not None:
            needs.append(parent["link_id"])
        todo = [q for q in needs if q in defn.by_id and q not in states]
        if todo and lid not in states:
            states[lid] = pending
            stack.extend(todo)
            continue
        stack.pop()
        states[lid] = _shown(defn, item, answers, states)


def _shown(defn: Definition, item: dict, answers: Mapping[str, Any], states: dict) -> bool:
    """One item's own conditions and its group, given the decided states of what they read."""
    parent = defn.parent.get(item["link_id"])
    if parent is not None and states.get(parent["link_id"]) is not True:
        return False
    conditions = item.get("enable_when")
    if not conditions:
        return True
    any_of = item.get("enable_behavior") == "any"
    for cond in conditions:
        value = answers.get(cond["question"])
        if cond["question"] in defn.by_id and states.get(cond["question"]) is not True:
            value = None  # an answer to a hidden question does not count
        if cond["operator"] == "exists":
            met = has_answer(value) == bool(cond.get("answer", True))
        else:
            met = has_answer(value) and compare_values(cond["operator"], value, cond["answer"])
        if bool(met) is any_of:  # the first met condition decides "any", the first unmet one "all"
            return any_of
    return not any_of


def is_enabled(defn: Definition, item: dict, answers: Mapping[str, Any]) -> bool:
    """Whether one item is shown; to ask about many, call enabled_states once instead."""
    return enabled_states(defn, answers)[item["link_id"]]


def _clean_text(value: Any, limit: int, label: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"{label} must be text.")
    if "\x00" in value:
        raise _Invalid("This answer contains a NUL character; remove it and try again.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" in JSON) cannot be stored or encrypted
        raise _Invalid(
            "This answer contains a character that cannot be saved; remove it and try again."
        ) from None
    if len(value) > limit:
        raise _Invalid(f"Please keep this under {limit:,} characters (it has {len(value):,}).")
    return value


class _Invalid(ValueError):
    """One answer is not acceptable; shown beside its item."""


def _option_values(item: dict) -> list[str]:
    return [o["value"] for o in item["options"]]


def normalise(item: dict, value: Any) -> Any:
    """Check one raw answer against its item and return the stored shape (None = cleared)."""
    kind = item["type"]
    if value is None or value == "" or value == []:
        return None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if value in ("true", "yes", "1"):
            return True
        if value in ("false", "no", "0"):
            return False
        raise _Invalid("Choose yes or no.")
    if kind in ("string", "text"):
        default = MAX_STRING if kind == "string" else MAX_TEXT
        return _clean_text(value, item.get("max_length", default), "This answer") or None
    if kind == "choice":
        allowed = _option_values(item)
        values = value if isinstance(value, list) else [value]
        if not item.get("multiple") and len(values) > 1:
            raise _Invalid("Choose one option.")
        for v in values:
            if v not in allowed:
                raise _Invalid("Choose one of the options shown.")
        return [v for v in allowed if v in values] if item.get("multiple") else values[0]
    if kind == "open-choice":
        return _clean_text(value, MAX_STRING, "This answer").strip() or None
    if kind in ("integer", "scale"):
        if isinstance(value, bool):
            raise _Invalid("Enter a whole number.")
        try:
            number = int(value) if not isinstance(value, float) or value.is_integer() else None
        except (TypeError, ValueError):
            number = None
        if number is None or abs(number) > MAX_INTEGER:
            raise _Invalid("Enter a whole number.")
        _check_range(item, number)
        return number
    if kind == "decimal":
        if isinstance(value, bool):
            raise _Invalid("Enter a number.")
        try:
            number = Decimal(str(value).strip().replace(",", "."))
        except InvalidOperation:
            raise _Invalid("Enter a number, for example 2.5.") from None
        if not number.is_finite() or abs(number) > MAX_INTEGER or len(str(value)) > 40:
            raise _Invalid("Enter a number, for example 2.5.")
        _check_range(item, number)
        return str(number)
    if kind == "date":
        try:
            return _dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise _Invalid("Enter a date as YYYY-MM-DD.") from None
    if kind == "desire":
        return _normalise_desire(item, value)
    raise AnswerError(f"'{item['link_id']}' cannot be answered.")


def _check_range(item: dict, number) -> None:
    # as_number: a bound that is no finite number (a definition stored before such bounds
    # were refused) limits nothing instead of failing every save
    low, high = as_number(item.get("min")), as_number(item.get("max"))
    if low is not None and number < low:
        raise _Invalid(f"Enter {item['min']} or more.")
    if high is not None and number > high:
        raise _Invalid(f"Enter {item['max']} or less.")


def _normalise_desire(item: dict, value: Any) -> dict | None:
    if not isinstance(value, dict) or set(value) - DESIRE_KEYS - {"hard_limit"}:
        raise _Invalid("This answer is not in the expected form.")
    roles = value.get("roles") or {}
    if not isinstance(roles, dict):
        raise _Invalid("This answer is not in the expected form.")
    keys = [r["key"] for r in item["roles"]]
    clean_roles = {}
    for key, answer in roles.items():
        if key not in keys:
            raise _Invalid("This answer names a role the question does not have.")
        if answer in (None, ""):
            continue
        if answer not in DESIRE_ANSWERS:
            raise _Invalid("Choose one of the answers shown.")
        clean_roles[key] = answer
    limits = value.get("limits") or []
    if not isinstance(limits, list) or not all(isinstance(k, str) for k in limits):
        raise _Invalid("This answer is not in the expected form.")
    if set(limits) - set(keys):
        raise _Invalid("This answer names a role the question does not have.")
    for flag in ("hard_limit", "fantasy"):
        if not isinstance(value.get(flag, False), bool):
            raise _Invalid("A tick box is either ticked or not.")
    experience = value.get("experience") or ""
    if experience and experience not in EXPERIENCE:
        raise _Invalid("Choose one of the answers shown.")
    out = desire_value(
        item,
        {
            "roles": {k: clean_roles[k] for k in keys if k in clean_roles},
            "limits": [k for k in keys if k in limits],
            "hard_limit": value.get("hard_limit", False),
            "fantasy": value.get("fantasy", False),
            "experience": experience,
            "note": _clean_text(value.get("note") or "", MAX_NOTE, "The note"),
        },
    )
    return out if has_answer(out) else None


def validate_changes(defn: Definition, changes: Mapping[str, Any]) -> tuple[dict, dict[str, str]]:
    """Normalise a partial set of answers; returns (clean changes, {link_id: error}).

    Raises AnswerError for a link_id that is not a question of this definition: that is a
    broken or forged request, not a typing mistake.
    """
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for link_id, raw in changes.items():
        item = defn.by_id.get(link_id) if isinstance(link_id, str) else None
        if item is None or item["type"] not in ANSWERABLE:
            raise AnswerError(f"'{str(link_id)[:64]}' is not a question of this questionnaire.")
        try:
            clean[link_id] = normalise(item, raw)
        except _Invalid as exc:
            errors[link_id] = str(exc)
    return clean, errors


def merge(answers: Mapping[str, Any], changes: Mapping[str, Any]) -> dict:
    """Apply clean changes to stored answers; None clears an answer."""
    out = dict(answers)
    for link_id, value in changes.items():
        if value is None:
            out.pop(link_id, None)
        else:
            out[link_id] = value
    return out


def missing_required(
    defn: Definition, answers: Mapping[str, Any], shown: Mapping[str, bool] | None = None
) -> dict[str, str]:
    """Required items that are shown for these answers and have no answer.

    ``shown`` is ``enabled_states(defn, answers)`` when the caller has it already.
    """
    missing = {}
    shown = enabled_states(defn, answers) if shown is None else shown
    for item in defn.questions():
        if (
            item.get("required")
            and shown[item["link_id"]]
            and not has_answer(answers.get(item["link_id"]))
        ):
            missing[item["link_id"]] = (
                "Please answer at least one role."
                if item["type"] == "desire"
                else "Please answer this question."
            )
    return missing


@dataclass(frozen=True)
class Stop:
    """An answer after which a partner cannot go on (an item's ``stop_if`` met)."""

    link_id: str
    #: 1-based number of the section holding the item: later sections are closed
    section: int
    message: str


def stop_for(
    defn: Definition, answers: Mapping[str, Any], shown: Mapping[str, bool] | None = None
) -> Stop | None:
    """The first shown item whose ``stop_if`` rule the answers meet, or None."""
    shown = shown if shown is not None else enabled_states(defn, answers)
    for lid in defn.order:
        rule = defn.by_id[lid].get("stop_if")
        value = answers.get(lid)
        if rule and shown.get(lid) and has_answer(value):
            if compare_values(rule["operator"], value, rule["answer"]):
                section = defn.section_of(lid)
                return Stop(lid, section.index + 1 if section else 1, rule["message"])
    return None


def visible_answers(defn: Definition, answers: Mapping[str, Any]) -> dict:
    """Only the answers of items shown for these answers (what a reader should see)."""
    shown = enabled_states(defn, answers)
    return {lid: value for lid, value in answers.items() if shown.get(lid) and has_answer(value)}


def progress(defn: Definition, answers: Mapping[str, Any]) -> tuple[int, int]:
    """(answered, total) over the counted questions (Definition.counted_questions)."""
    counted = defn.counted_questions()
    return sum(1 for i in counted if has_answer(answers.get(i["link_id"]))), len(counted)


def from_form(defn: Definition, section: Section, form: Mapping[str, Any], getlist) -> dict:
    """Raw answers for one section from posted form fields (``a-<link_id>`` and friends).

    A section always posts all its fields, so an item missing from the form means "cleared".
    """
    raw: dict[str, Any] = {}
    for item in walk(section.items):
        if item["type"] not in ANSWERABLE:
            continue
        name = f"a-{item['link_id']}"
        kind = item["type"]
        if kind == "desire":
            raw[item["link_id"]] = {
                "roles": {r["key"]: form.get(f"{name}-role-{r['key']}", "") for r in item["roles"]},
                "limits": [
                    r["key"] for r in item["roles"] if form.get(f"{name}-limit-{r['key']}") == "on"
                ],
                "fantasy": form.get(f"{name}-fantasy") == "on",
                "experience": form.get(f"{name}-experience", ""),
                "note": form.get(f"{name}-note", ""),
            }
        elif kind == "choice" and item.get("multiple"):
            raw[item["link_id"]] = getlist(name)
        elif kind == "open-choice":
            chosen = form.get(name, "")
            raw[item["link_id"]] = (
                form.get(f"{name}-other", "") if chosen == "__other__" else chosen
            )
        else:
            raw[item["link_id"]] = form.get(name, "")
    return raw


def page_conditions(
    defn: Definition,
    section: Section,
    answers: Mapping[str, Any],
    shown: Mapping[str, bool] | None = None,
) -> dict[str, dict]:
    """For items with enable_when on a page: shown now or not, and the rules for the page's JS.

    Conditions on questions of other pages carry that answer as ``known`` so the script can
    decide without seeing anything but this partner's own answers. ``shown`` is
    ``enabled_states(defn, answers)`` when the caller has it already.
    """
    on_page = {i["link_id"] for i in walk(section.items)}
    shown = enabled_states(defn, answers) if shown is None else shown
    out = {}
    for item in walk(section.items):
        if not item.get("enable_when"):
            continue
        rules = []
        for cond in item["enable_when"]:
            rule = dict(cond)
            if cond["question"] not in on_page:
                rule["known"] = (
                    answers.get(cond["question"]) if shown.get(cond["question"]) else None
                )
            rules.append(rule)
        out[item["link_id"]] = {
            "enabled": shown[item["link_id"]],
            "json": json.dumps(rules),
        }
    return out
