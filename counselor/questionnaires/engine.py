"""Questionnaire logic on plain data: sections, enable_when, stops, progress, form fields.

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

Reading one value (numbers, comparison, "answered", desire answers) is
``counselor.questionnaires.values``; checking what a partner sends is
``counselor.questionnaires.validation``. Their names stay importable from here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from counselor.questionnaires.schema import ANSWERABLE, DEFAULT_SHARE
from counselor.questionnaires.validation import MAX_NOTE as MAX_NOTE
from counselor.questionnaires.validation import MAX_TEXT as MAX_TEXT
from counselor.questionnaires.validation import AnswerError as AnswerError
from counselor.questionnaires.validation import merge as merge
from counselor.questionnaires.validation import normalise as normalise
from counselor.questionnaires.validation import validate_changes as validate_changes
from counselor.questionnaires.values import DESIRE_KEYS as DESIRE_KEYS
from counselor.questionnaires.values import as_number as as_number
from counselor.questionnaires.values import compare_values as compare_values
from counselor.questionnaires.values import desire_value as desire_value
from counselor.questionnaires.values import has_answer as has_answer
from counselor.questionnaires.values import older_desire_shape as older_desire_shape


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
    #: what pure functions worked out from this definition, by name: parsed definitions are
    #: shared per process and never change, so each is worked out once (see ``derived``)
    _derived: dict[str, Any] = field(init=False, default_factory=dict, repr=False, compare=False)

    def derived(self, name: str, make: Callable[[Definition], Any]) -> Any:
        """``make(self)``, worked out once per definition (callers must not mutate it)."""
        if name not in self._derived:
            self._derived[name] = make(self)
        return self._derived[name]

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


def answer_part(link_id: str) -> str:
    """The part of a response's stored answers that holds this item's answer: its link id up
    to the first dot. Link ids name their section so ("touch.kiss" in "touch"), so a part is
    a section's answers and a page of one section parses only its own; any link id works
    (a part that holds items of several sections is parsed whole)."""
    return link_id.partition(".")[0]


def parts_read(defn: Definition, sections: Collection[int]) -> frozenset[str]:
    """The parts (``answer_part``) of the stored answers that these sections' items, and
    whether each is shown (``enabled_states``), read: their own, and those of every question
    their conditions and their groups' conditions read, however far back. Worked out once per
    definition and set of sections."""

    def make(defn: Definition) -> frozenset[str]:
        todo = [i["link_id"] for s in sections for i in walk(defn.sections[s].items)]
        seen: set[str] = set()
        while todo:  # linear: each item is looked at once
            lid = todo.pop()
            if lid in seen:
                continue
            seen.add(lid)
            todo.extend(
                cond["question"] for cond in defn.by_id.get(lid, {}).get("enable_when") or ()
            )
            parent = defn.parent.get(lid)
            if parent is not None:
                todo.append(parent["link_id"])
        return frozenset(answer_part(lid) for lid in seen)

    return defn.derived("parts read " + " ".join(map(str, sorted(sections))), make)


def enabled_states(defn: Definition, answers: Mapping[str, Any]) -> dict[str, bool]:
    """FHIR enableWhen for every item at once: {link_id: shown for these answers}.

    Each item is decided once, after the questions its conditions read and the group holding
    it, so the cost is linear in the definition. Asking item by item re-decided every
    question a condition reads, which grew exponentially with chained conditions.
    """
    if defn.in_order:  # the usual case: one pass, everything an item reads decided before it
        start, follow_ups = defn.derived("enabled_start", _enabled_start)
        # every item not under a condition is shown whatever the answers: only the follow-ups
        # are decided (the desire inventory has none; its 235 items were decided one by one)
        states = dict(start)
        for lid in follow_ups:
            states[lid] = _shown(defn, defn.by_id[lid], answers, states)
        return states
    states: dict[str, bool] = {}
    for lid in defn.order:
        if lid not in states:
            _decide(defn, lid, answers, states)
    return states


def _enabled_start(defn: Definition) -> tuple[dict[str, bool], list[str]]:
    """Every item in document order, shown unless a condition of its own or of a group holding
    it may hide it, and those follow-ups in document order (what ``enabled_states`` decides)."""
    follow_ups = [lid for lid in defn.order if defn.is_follow_up(defn.by_id[lid])]
    hidden = set(follow_ups)
    return {lid: lid not in hidden for lid in defn.order}, follow_ups


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


def missing_required(
    defn: Definition, answers: Mapping[str, Any], shown: Mapping[str, bool] | None = None
) -> dict[str, str]:
    """Required items that are shown for these answers and have no answer.

    ``shown`` is ``enabled_states(defn, answers)`` when the caller has it already.
    """
    missing = {}
    shown = enabled_states(defn, answers) if shown is None else shown
    for item in defn.derived("required", _required):
        if shown[item["link_id"]] and not has_answer(answers.get(item["link_id"])):
            missing[item["link_id"]] = (
                "Please answer at least one role."
                if item["type"] == "desire"
                else "Please answer this question."
            )
    return missing


def _required(defn: Definition) -> list[dict]:
    """The required questions of a definition in document order (``missing_required`` looks
    at these alone; worked out once per definition)."""
    return [item for item in defn.questions() if item.get("required")]


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


def visible_answers(
    defn: Definition, answers: Mapping[str, Any], states: Mapping[str, bool] | None = None
) -> dict:
    """Only the answers of items shown for these answers (what a reader should see);
    ``states``: ``enabled_states(defn, answers)`` when the caller has it already."""
    shown = enabled_states(defn, answers) if states is None else states
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
