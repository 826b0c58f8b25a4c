"""The partner-facing filter (counselor/reveal/views.py ``partner_view``), tested pure, then as
the HTML of the "What you share" page rendered through the real app's template.

A hypothesis property plants a unique canary in every note, every counselor-only answer and
every unmatched free-text answer of 2-4 partners, and checks that what one partner's view holds
(the dataclasses, walked recursively, and the rendered page) is exactly what an independent
oracle of the reveal rules allows: mutual and complementary matches, shared items, and mutual
non-desire items with equal answers; nothing else of anybody else.
"""

from __future__ import annotations

import dataclasses
import html as html_lib
import re
from collections import Counter
from functools import partial

import pytest
from flask import render_template
from hypothesis import example, given, settings
from hypothesis import strategies as st

from counselor.questionnaires.engine import Definition, parts_read, walk
from counselor.questionnaires.models import Response, StoredAnswers
from counselor.questionnaires.schema import EXPERIENCE, validate_definition
from counselor.reveal.services import PartedAnswers
from counselor.reveal.shared_pages import SharedPage
from counselor.reveal.views import (
    MatchLine,
    Outline,
    PartnerInfo,
    PartnerView,
    SharedAnswer,
    partner_reader,
    partner_view,
)

ANSWERS = ("yes", "want_to_try", "if_partner", "maybe", "no", None)
POSITIVE = {"yes", "want_to_try"}

DOC = {
    "slug": "view-check",
    "title": "View check",
    "purpose": "The fixed definition of the partner view tests.",
    "kind": "exercise",
    "items": [
        {
            "link_id": "d",
            "type": "group",
            "text": "SECTION-desires",
            "items": [
                {
                    "link_id": "d.together",
                    "type": "desire",
                    "text": "ITEM-together",
                    "roles": [{"key": "together", "label": "Together"}],
                },
                {
                    "link_id": "d.give",
                    "type": "desire",
                    "text": "ITEM-give",
                    "roles": [
                        {"key": "give", "label": "ROLE-giving", "counterpart": "receive"},
                        {"key": "receive", "label": "ROLE-receiving", "counterpart": "give"},
                    ],
                },
                {
                    "link_id": "d.lead",
                    "type": "desire",
                    "text": "ITEM-lead",
                    "roles": [
                        {"key": "lead", "label": "ROLE-leading", "counterpart": "follow"},
                        {"key": "follow", "label": "ROLE-following", "counterpart": "lead"},
                    ],
                },
                {
                    "link_id": "d.mixed",
                    "type": "desire",
                    "text": "ITEM-mixed",
                    "roles": [
                        {"key": "both", "label": "ROLE-both"},
                        {"key": "choose", "label": "ROLE-choosing", "counterpart": "wear"},
                        {"key": "wear", "label": "ROLE-wearing", "counterpart": "choose"},
                    ],
                },
                {
                    "link_id": "d.secret",
                    "type": "desire",
                    "text": "ITEM-secret",
                    "share": "counselor_only",
                    "roles": [{"key": "together", "label": "ROLE-secret"}],
                },
            ],
        },
        {
            "link_id": "w",
            "type": "group",
            "text": "SECTION-words",
            "items": [
                {
                    "link_id": "w.private",
                    "type": "text",
                    "text": "ITEM-private",
                    "share": "counselor_only",
                },
                {"link_id": "w.default", "type": "text", "text": "ITEM-default"},
                {"link_id": "w.shared", "type": "text", "text": "ITEM-shared", "share": "shared"},
                {
                    "link_id": "w.mutual",
                    "type": "choice",
                    "text": "ITEM-mutual",
                    "share": "mutual",
                    "options": [
                        {"value": "a", "label": "OPT-a"},
                        {"value": "b", "label": "OPT-b"},
                        {"value": "c", "label": "OPT-c"},
                    ],
                },
                {
                    "link_id": "w.mutual_text",
                    "type": "string",
                    "text": "ITEM-mutual-text",
                    "share": "mutual",
                },
                {
                    "link_id": "w.pick",
                    "type": "choice",
                    "text": "ITEM-pick",
                    "share": "shared",
                    "options": [
                        {"value": "a", "label": "PICK-a"},
                        {"value": "b", "label": "PICK-b"},
                    ],
                },
                {
                    "link_id": "w.more",
                    "type": "text",
                    "text": "ITEM-more",
                    "share": "shared",
                    "enable_when": [{"question": "w.pick", "operator": "=", "answer": "a"}],
                },
                {
                    "link_id": "w.flag",
                    "type": "boolean",
                    "text": "ITEM-flag",
                    "share": "counselor_only",
                },
                {
                    "link_id": "w.after_flag",
                    "type": "text",
                    "text": "ITEM-after-flag",
                    "share": "shared",
                    "enable_when": [{"question": "w.flag", "operator": "=", "answer": True}],
                },
                {
                    "link_id": "w.after_mutual",
                    "type": "text",
                    "text": "ITEM-after-mutual",
                    "share": "shared",
                    "enable_when": [{"question": "w.mutual", "operator": "!=", "answer": "c"}],
                },
            ],
        },
    ],
}
DEFN = Definition(DOC)
DESIRES = [i for i in DEFN.questions() if i["type"] == "desire"]
SAME_TEXT = "SAME-mutual-text"


def test_the_fixed_definition_is_valid():
    assert validate_definition(DOC) == []


def names(n: int) -> list[PartnerInfo]:
    return [PartnerInfo(k, f"Partner-{k}") for k in range(n)]


# ---- the oracle: the reveal rules written from DESIGN.md, independent of the module ----------


def _share(item):
    return item.get("share", "mutual" if item["type"] == "desire" else "counselor_only")


def _label(item, key):
    return next(r["label"] for r in item["roles"] if r["key"] == key)


#: shown only for some answers to a question that is not shared: its mere presence would
#: tell that answer, so nothing of another partner is ever shown for these
TELLING = {"w.after_flag", "w.after_mutual"}


def _enabled(item, answers) -> bool:
    if item["link_id"] == "w.more":
        return answers.get("w.pick") == "a"
    return True


def expected(
    viewer: int, partners: list[PartnerInfo], answers: dict, related=None
) -> dict[str, dict]:
    """{item text: {"matches": [(other, viewer role, other role, cls)],
    "answers": [(other, value)]}} as the reveal rules allow: nothing of a partner the viewer
    is not in a relationship with; a match is a pair of wished roles, neither of them a hard
    limit of either partner, and no wish marked fantasy only."""
    out: dict[str, dict] = {}
    mine = answers[viewer]
    for item in DEFN.questions():
        lid, share = item["link_id"], _share(item)
        if share == "counselor_only" or lid in TELLING or not _enabled(item, mine):
            continue
        entry = {"matches": [], "answers": []}
        for other in partners:
            if other.key == viewer:
                continue
            if related is not None and frozenset((viewer, other.key)) not in related:
                continue
            theirs = answers[other.key]
            if not _enabled(item, theirs):
                continue
            if item["type"] == "desire":
                a, b = mine.get(lid), theirs.get(lid)
                if a is None or b is None or a.get("fantasy") or b.get("fantasy"):
                    continue
                for role in item["roles"]:
                    other_role = role.get("counterpart", role["key"])
                    if role["key"] in _limits(item, a) or other_role in _limits(item, b):
                        continue
                    if (
                        a["roles"].get(role["key"]) in POSITIVE
                        and b["roles"].get(other_role) in POSITIVE
                    ):
                        entry["matches"].append(
                            (
                                other.name,
                                role["label"],
                                _label(item, other_role),
                                "complementary" if "counterpart" in role else "mutual",
                            )
                        )
            elif share == "shared":
                if theirs.get(lid) is not None:
                    entry["answers"].append((other.name, theirs[lid]))
            elif share == "mutual":
                if theirs.get(lid) is not None and theirs.get(lid) == mine.get(lid):
                    entry["answers"].append((other.name, theirs[lid]))
        if entry["matches"] or entry["answers"]:
            out[item["text"]] = entry
    return out


def _limits(item, answer) -> set:
    """The roles an answer marks a hard limit (older answers: every answered role)."""
    if "limits" in answer:
        return set(answer["limits"])
    if answer.get("hard_limit"):
        return set(answer["roles"]) or {r["key"] for r in item["roles"]}
    return set()


def view_as_expected_shape(view: PartnerView) -> dict[str, dict]:
    return {
        e.text: {
            "matches": [(m.other, m.viewer_role, m.other_role, m.cls) for m in e.matches],
            "answers": [(a.other, a.value) for a in e.answers],
        }
        for e in view.items
    }


# ---- walking what a view holds ----------------------------------------------------------


def strings_in(obj) -> list[str]:
    """Every string anywhere in a view: dataclass fields, dicts, lists, recursively."""
    out: list[str] = []
    stack = [obj]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            out.append(x)
        elif dataclasses.is_dataclass(x) and not isinstance(x, type):
            stack.extend(getattr(x, f.name) for f in dataclasses.fields(x))
        elif isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, (list, tuple, set, frozenset)):
            stack.extend(x)
    return out


def render_shared(app, view: PartnerView) -> str:
    """The "What you share" page for a view, rendered by the real template (all of it on
    one page, as a short result is)."""
    with app.test_request_context("/p/shared"):
        return render_template(
            "portal/shared.html", view=view, page=SharedPage(view.items, len(view.items)), defn=DEFN
        )


SECTION = re.compile(r'<section class="card shadow-sm mb-3 shared-item">(.*?)</section>', re.S)
H2 = re.compile(r"<h2[^>]*>(.*?)</h2>", re.S)
COMPLEMENTARY = re.compile(
    r"You complement each other</span>\s*You: (.*?) · (.*?): (.*?)</p>", re.S
)
MUTUAL = re.compile(r"You both want this</span>\s*with (\S+?)(?: \((.*?)\))?</p>", re.S)
ANSWER = re.compile(r'<span class="small text-body-secondary">(.*?):</span>\s*(.*?)</div>', re.S)


def _text(fragment: str) -> str:
    return html_lib.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def parse_shared_page(page: str) -> dict[str, dict]:
    """The shared page read back into the oracle's shape (answers as displayed text)."""
    out = {}
    for body in SECTION.findall(page):
        text = _text(H2.search(body).group(1))
        matches = [
            (_text(o), _text(vr), _text(orl), "complementary")
            for vr, o, orl in COMPLEMENTARY.findall(body)
        ]
        matches += [
            (_text(o), _text(vr) if vr else "Together", None, "mutual")
            for o, vr in MUTUAL.findall(body)
        ]
        answers = [(_text(o), _text(v)) for o, v in ANSWER.findall(body)]
        out[text] = {"matches": sorted(matches, key=repr), "answers": sorted(answers)}
    return out


def _displayed(item, value) -> str:
    if item["type"] == "choice":
        return next(o["label"] for o in item["options"] if o["value"] == value)
    return str(value)


def expected_on_page(exp: dict[str, dict]) -> dict[str, dict]:
    by_text = {i["text"]: i for i in DEFN.questions()}
    out = {}
    for text, entry in exp.items():
        matches = [
            (o, vr, orl if cls == "complementary" else None, cls)
            for o, vr, orl, cls in entry["matches"]
        ]
        answers = [(o, _displayed(by_text[text], v)) for o, v in entry["answers"]]
        out[text] = {"matches": sorted(matches, key=repr), "answers": sorted(answers)}
    return out


# ---- plain examples ------------------------------------------------------------------------


def d(roles=None, limit=False, note="", limits=None, fantasy=False, experience=""):
    out = {"roles": roles or {}, "note": note, "fantasy": fantasy, "experience": experience}
    if limits is not None:
        out["limits"] = sorted(limits)
    else:
        out["hard_limit"] = limit  # an answer saved before limits were per role
    return out


def couple_answers():
    return {
        0: {
            "d.together": d({"together": "yes"}, note="CANARY-0-together-NOTE"),
            "d.give": d({"give": "yes", "receive": "no"}, note="CANARY-0-give-NOTE"),
            "d.lead": d({"lead": "maybe", "follow": "yes"}),
            "d.mixed": d({"both": "yes"}, limit=True, note="CANARY-0-mixed-NOTE"),
            "d.secret": d({"together": "yes"}),
            "w.private": "CANARY-0-private",
            "w.default": "CANARY-0-default",
            "w.shared": "Shared words of 0",
            "w.mutual": "a",
            "w.mutual_text": "CANARY-0-mutual-text",
            "w.pick": "a",
            "w.more": "More of 0",
            "w.flag": True,
            "w.after_flag": "CANARY-0-after-flag",
            "w.after_mutual": "CANARY-0-after-mutual",
        },
        1: {
            "d.together": d({"together": "want_to_try"}, note="CANARY-1-together-NOTE"),
            "d.give": d({"give": "no", "receive": "yes"}),
            "d.lead": d({"lead": "no", "follow": "no"}, note="CANARY-1-lead-NOTE"),
            "d.mixed": d({"both": "yes"}),
            "d.secret": d({"together": "yes"}),
            "w.private": "CANARY-1-private",
            "w.default": "CANARY-1-default",
            "w.shared": "Shared words of 1",
            "w.mutual": "a",
            "w.mutual_text": "CANARY-1-mutual-text",
            "w.pick": "a",
            "w.more": "More of 1",
            "w.flag": True,
            "w.after_flag": "CANARY-1-after-flag",
            "w.after_mutual": "CANARY-1-after-mutual",
        },
    }


@pytest.mark.parametrize("all_submitted,released", [(False, False), (False, True), (True, False)])
def test_nothing_is_visible_before_everyone_submitted_and_the_release(all_submitted, released):
    partners = names(2)
    for viewer in partners:
        view = partner_view(
            DEFN, viewer, partners, couple_answers(), all_submitted=all_submitted, released=released
        )
        assert view.visible is False
        assert view.items == []
        # one reason whatever the others did: it must not tell who has submitted
        assert view.reason == "not_released"
        assert not any("CANARY" in s or "Shared words" in s for s in strings_in(view))


def test_after_release_only_matches_shared_items_and_equal_mutual_answers():
    partners = names(2)
    view = partner_view(
        DEFN, partners[0], partners, couple_answers(), all_submitted=True, released=True
    )
    assert view.visible is True
    got = view_as_expected_shape(view)
    assert got == {
        "ITEM-together": {
            "matches": [("Partner-1", "Together", "Together", "mutual")],
            "answers": [],
        },
        "ITEM-give": {
            "matches": [("Partner-1", "ROLE-giving", "ROLE-receiving", "complementary")],
            "answers": [],
        },
        "ITEM-shared": {"matches": [], "answers": [("Partner-1", "Shared words of 1")]},
        "ITEM-mutual": {"matches": [], "answers": [("Partner-1", "a")]},
        "ITEM-pick": {"matches": [], "answers": [("Partner-1", "a")]},
        "ITEM-more": {"matches": [], "answers": [("Partner-1", "More of 1")]},
    }
    # not ITEM-lead (no match), ITEM-mixed (a hard limit), ITEM-secret (counselor only, though
    # both said yes), the counselor-only texts, the unequal mutual text, nor the follow-ups of
    # private answers
    assert got == expected(0, partners, couple_answers())
    leaked = [s for s in strings_in(view) if "CANARY" in s]
    assert leaked == []
    assert [e.section for e in view.items] == ["SECTION-desires", "SECTION-desires"] + [
        "SECTION-words"
    ] * 4


def test_the_other_direction_sees_the_mirror_of_the_matches():
    partners = names(2)
    view = partner_view(
        DEFN, partners[1], partners, couple_answers(), all_submitted=True, released=True
    )
    got = view_as_expected_shape(view)
    assert got["ITEM-give"]["matches"] == [
        ("Partner-0", "ROLE-receiving", "ROLE-giving", "complementary")
    ]
    assert got == expected(1, partners, couple_answers())


def test_a_single_partner_sees_nothing_of_anyone():
    partners = names(1)
    answers = {0: couple_answers()[0]}
    view = partner_view(DEFN, partners[0], partners, answers, all_submitted=True, released=True)
    assert view.visible and view.items == []


def test_a_partner_who_answered_nothing_sees_only_the_shared_items():
    partners = names(3)
    answers = {0: couple_answers()[0], 1: couple_answers()[1], 2: {}}
    view = partner_view(DEFN, partners[2], partners, answers, all_submitted=True, released=True)
    assert view_as_expected_shape(view) == {
        "ITEM-shared": {
            "matches": [],
            "answers": [("Partner-0", "Shared words of 0"), ("Partner-1", "Shared words of 1")],
        },
        "ITEM-pick": {"matches": [], "answers": [("Partner-0", "a"), ("Partner-1", "a")]},
    }
    # and the others see nothing of the one who answered nothing
    for viewer in partners[:2]:
        view = partner_view(DEFN, viewer, partners, answers, all_submitted=True, released=True)
        assert "Partner-2" not in repr(view)


def test_counselor_only_desire_item_never_shows_even_when_both_want_it():
    partners = names(2)
    answers = {k: {"d.secret": d({"together": "yes"})} for k in (0, 1)}
    for viewer in partners:
        view = partner_view(DEFN, viewer, partners, answers, all_submitted=True, released=True)
        assert view.items == []


def test_rendered_page_for_the_plain_example(app):
    partners = names(2)
    view = partner_view(
        DEFN, partners[0], partners, couple_answers(), all_submitted=True, released=True
    )
    page = render_shared(app, view)
    assert "CANARY" not in page
    assert parse_shared_page(page) == expected_on_page(expected(0, partners, couple_answers()))
    hidden = render_shared(
        app,
        partner_view(
            DEFN, partners[0], partners, couple_answers(), all_submitted=True, released=False
        ),
    )
    assert "CANARY" not in hidden and "Partner-1" not in hidden and "ITEM-" not in hidden


# ---- the property --------------------------------------------------------------------------


def _a_couple_who_match():
    """Two partners who said yes to every role of every desire item and shared their text,
    released: an example in which matches and shared answers must be offered, so that the
    material property's checks can never all be skipped by chance."""
    answers = {
        p: {
            **{
                i["link_id"]: {
                    "roles": {r["key"]: "yes" for r in i["roles"]},
                    "note": f"CANARY-{p}-{i['link_id']}-NOTE",
                    "fantasy": False,
                    "experience": "",
                    "limits": [],
                }
                for i in DESIRES
            },
            "w.private": f"CANARY-{p}-w.private-TEXT",
            "w.shared": f"SHARED-{p}-TEXT",
        }
        for p in range(2)
    }
    return names(2), answers, True, True, None


@st.composite
def answer_sets(draw):
    n = draw(st.integers(min_value=2, max_value=6))
    pairs = [frozenset((a, b)) for a in range(n) for b in range(a + 1, n)]
    # a relationship map: everyone with everyone, or any subset of the pairs (a polycule)
    related = None if draw(st.integers(0, 3)) == 0 else {p for p in pairs if draw(st.booleans())}
    answers = {}
    for p in range(n):
        mine: dict = {}
        for item in DESIRES:
            lid = item["link_id"]
            if draw(st.integers(0, 9)) == 0:
                continue  # left the whole item open
            roles = {r["key"]: draw(st.sampled_from(ANSWERS)) for r in item["roles"]}
            answer = {
                "roles": {k: v for k, v in roles.items() if v is not None},
                "note": f"CANARY-{p}-{lid}-NOTE",
                "fantasy": draw(st.integers(0, 5)) == 0,
                "experience": draw(st.sampled_from(EXPERIENCE + ("",))),
            }
            if draw(st.integers(0, 5)) == 0:  # saved before limits were per role
                answer["hard_limit"] = draw(st.integers(0, 3)) == 0
            else:
                answer["limits"] = [r["key"] for r in item["roles"] if draw(st.integers(0, 4)) == 0]
            mine[lid] = answer
        mine["w.private"] = f"CANARY-{p}-w.private-TEXT"
        mine["w.default"] = f"CANARY-{p}-w.default-TEXT"
        if draw(st.booleans()):
            mine["w.shared"] = f"SHARED-{p}-TEXT"
        choice = draw(st.sampled_from(["a", "b", "c", None]))
        if choice:
            mine["w.mutual"] = choice
        mine["w.mutual_text"] = (
            SAME_TEXT if draw(st.booleans()) else f"CANARY-{p}-w.mutual_text-UNMATCHED"
        )
        pick = draw(st.sampled_from(["a", "b", None]))
        if pick:
            mine["w.pick"] = pick
        mine["w.more"] = f"MORE-{p}-TEXT"
        mine["w.flag"] = draw(st.booleans())
        mine["w.after_flag"] = f"CANARY-{p}-w.after_flag-TEXT"
        mine["w.after_mutual"] = f"CANARY-{p}-w.after_mutual-TEXT"
        if draw(st.integers(0, 4)) == 0:  # a whole section left open: its part holds nothing
            section = draw(st.sampled_from(["d.", "w."]))
            mine = {k: v for k, v in mine.items() if not k.startswith(section)}
        answers[p] = mine
    released = draw(st.sampled_from([True, True, True, False]))
    all_submitted = draw(st.sampled_from([True, True, True, False]))
    return names(n), answers, all_submitted, released, related


def _related(related):
    return None if related is None else (lambda a, b: frozenset((a, b)) in related)


def _forbidden_for(viewer: int, answers: dict) -> list[str]:
    """Canaries the viewer must never see: every note and counselor-only text of anyone, and
    every unmatched mutual text of the others."""
    out = []
    for mine in answers.values():
        for value in mine.values():
            if isinstance(value, dict):
                out.append(value["note"])
            elif isinstance(value, str) and value.startswith("CANARY-"):
                out.append(value)
    return out


def assert_read_in_parts(viewer, partners, answers, related, view: PartnerView) -> None:
    """The view read a part at a time (a long shared page) is the whole view: each section's
    items are the whole view's of that section, and the outline's counts and lines are the
    whole view's (exact up to its limit, past it only more), with no line built. So it is
    when the answers are stored by part (``Response.dump_answers``) and a section's page
    parses only the parts its items read, whichever parts hold whose answers; and an outline
    kept for the same view (``kept``) reads no answer and holds nothing but counts."""
    rules = {"all_submitted": True, "released": True, "related": _related(related)}
    reader = partner_reader(DEFN, viewer, partners, answers, **rules)
    section = {i["link_id"]: s.index for s in DEFN.sections for i in walk(s.items)}
    counts = Counter(section[i.link_id] for i in view.items)
    lines = sum(1 + len(i.matches) + len(i.answers) for i in view.items)
    for limit in (0, 1, 3, lines - 1, lines, 1000):
        outline = reader.outline(limit)
        assert outline.counts == counts
        assert outline.lines == lines if lines <= limit else outline.lines > limit
    for s in DEFN.sections:
        assert reader.items({s.index}) == [i for i in view.items if section[i.link_id] == s.index]
    assert reader.items() == view.items and reader.own_scores == view.own_scores

    stored = {k: Response.dump_answers(a) for k, a in answers.items()}
    asked: list = []

    def parted(kept=None):
        loader = PartedAnswers(lambda: {k: partial(StoredAnswers, t) for k, t in stored.items()})

        def load(parts, keys):
            asked.append(parts)
            return loader(parts, keys)

        return partner_reader(DEFN, viewer, partners, load, kept=kept, **rules)

    for s in DEFN.sections:
        asked.clear()
        in_section = [i for i in view.items if section[i.link_id] == s.index]
        assert parted().items({s.index}) == in_section
        assert asked == [parts_read(DEFN, {s.index})]
    kept: dict = {}

    def keeper(name, make):
        if name not in kept:
            kept[name] = make()
        return kept[name]

    assert parted(keeper).outline(1000) == Outline(counts, lines) == reader.outline(1000)
    asked.clear()
    again = parted(keeper)
    assert again.outline(1000) == Outline(counts, lines) and asked == []
    assert again.items() == view.items
    for outline in kept.values():
        assert all(type(n) is int for n in (*outline.counts, *outline.counts.values()))


def test_property_a_partner_sees_only_what_the_rules_allow(app):
    """For random answers of 2-6 partners with random relationship maps, each partner's view and
    page hold only what the reveal rules allow; the run must have shown matches, checked
    canaries and metamours, or it proved nothing."""
    examples: Counter = Counter()

    @settings(max_examples=150, deadline=None)
    @given(data=answer_sets())
    @example(data=_a_couple_who_match())
    def check(data):
        partners, answers, all_submitted, released, related = data
        examples["examples"] += 1
        examples[f"partners_{len(partners)}"] += 1
        for viewer in partners:
            view = partner_view(
                DEFN,
                viewer,
                partners,
                answers,
                all_submitted=all_submitted,
                released=released,
                related=_related(related),
            )
            page = render_shared(app, view)
            examples["views"] += 1
            strings = strings_in(view)
            blob = "\n".join(strings) + "\n" + repr(view)
            forbidden = _forbidden_for(viewer.key, answers)
            assert [c for c in forbidden if c in blob] == [], "a canary reached the view data"
            assert [c for c in forbidden if c in page] == [], "a canary reached the shared page"
            # desire answer codes and labels of anybody never appear as such
            assert not {"yes", "no", "maybe", "if_partner", "want_to_try"} & set(strings)
            assert not set(EXPERIENCE) & set(strings)
            for label in (
                "Maybe",
                "Want to try",
                "If my partner wants",
                "Only if my partner wants it",
                "Hard limit",
                "Fantasy only",
                "Done it",
                "Never done",
                "ROLE-secret",
                "ITEM-secret",
            ):
                assert label not in page
            if not (all_submitted and released):
                assert view.items == [] and not view.visible
                assert not any(p.name in page for p in partners)
                continue
            exp = expected(viewer.key, partners, answers, related)
            got = view_as_expected_shape(view)
            assert got == exp
            # a metamour (no relationship with the viewer) is named nowhere on the page
            for other in partners:
                if related is not None and other.key != viewer.key:
                    if frozenset((viewer.key, other.key)) not in related:
                        assert other.name not in page and other.name not in blob
                        examples["metamours_checked"] += 1
            for entry in view.items:
                for a in entry.answers:
                    assert isinstance(a, SharedAnswer) and a.item["type"] != "desire"
                    assert a.item.get("share", "counselor_only") != "counselor_only"
                for m in entry.matches:
                    assert isinstance(m, MatchLine) and m.cls in ("mutual", "complementary")
            assert parse_shared_page(page) == expected_on_page(exp)
            assert_read_in_parts(viewer, partners, answers, related, view)
            # every other partner's name shows exactly as often as a match or answer names them
            for other in partners:
                if other.key == viewer.key:
                    continue
                times = sum(
                    1
                    for e in exp.values()
                    for row in e["matches"] + e["answers"]
                    if row[0] == other.name
                )
                assert page.count(other.name) == times, other.name
            examples["matches_shown"] += sum(len(e["matches"]) for e in exp.values())
            examples["canaries_checked"] += len(forbidden)

    check()
    print(f"\npartner_view property: {dict(examples)}")
    assert examples["views"] >= 2 * examples["examples"] > 0
    assert examples["matches_shown"] > 0, "no example showed a match: the checks are blind"
    assert examples["canaries_checked"] > 0, "no canary was checked: the checks are blind"
    assert examples["metamours_checked"] > 0, "no metamour was checked: the map is untested"


# ---- a shared item shown only after a private answer ------------------------------------

FOLLOW_UP = {
    "slug": "follow-up",
    "title": "Follow-up",
    "purpose": "A shared follow-up question conditional on a counselor-only screening answer.",
    "kind": "check-in",
    "items": [
        {
            "link_id": "safe",
            "type": "choice",
            "text": "Do you feel safe at home?",
            "share": "counselor_only",
            "options": [{"value": "yes", "label": "Yes"}, {"value": "no", "label": "No"}],
        },
        {
            "link_id": "helps",
            "type": "text",
            "text": "ITEM-what-would-help",
            "share": "shared",
            "enable_when": [{"question": "safe", "operator": "=", "answer": "no"}],
        },
        {
            "link_id": "ok_group",
            "type": "group",
            "text": "Only after a yes",
            "enable_when": [{"question": "safe", "operator": "=", "answer": "yes"}],
            "items": [
                {
                    "link_id": "ok_group.touch",
                    "type": "desire",
                    "text": "ITEM-touch",
                    "roles": [{"key": "together", "label": "Together"}],
                }
            ],
        },
        {"link_id": "plain", "type": "text", "text": "ITEM-plain", "share": "shared"},
    ],
}


def test_nothing_shown_to_others_tells_a_counselor_only_answer():
    """A shared follow-up that appears only after a worrying screening answer would tell the
    other partner that answer (the screening item is counselor_only): it is never shown to them,
    nor is an item enabled by a reassuring answer."""
    assert validate_definition(FOLLOW_UP) == []
    defn = Definition(FOLLOW_UP)
    partners = names(2)
    yes_touch = {"roles": {"together": "yes"}, "hard_limit": False, "note": ""}
    answers = {
        0: {
            "safe": "yes",
            "helps": "viewer words",
            "ok_group.touch": yes_touch,
            "plain": "plain 0",
        },
        1: {"safe": "no", "helps": "CANARY-only-after-unsafe", "plain": "plain 1"},
    }
    answers[0]["safe"] = "no"  # the viewer's own condition holds too
    view = partner_view(defn, partners[0], partners, answers, all_submitted=True, released=True)
    assert "CANARY-only-after-unsafe" not in repr(view)
    assert [e.text for e in view.items] == ["ITEM-plain"]
    # and a desire match inside a group shown only after "safe = yes" says both answered yes
    answers = {k: {"safe": "yes", "ok_group.touch": yes_touch} for k in (0, 1)}
    view = partner_view(defn, partners[0], partners, answers, all_submitted=True, released=True)
    assert view.items == []


def test_a_shared_answer_renders_inert(app):
    partners = names(2)
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    answers = couple_answers()
    answers[1]["w.shared"] = payload
    view = partner_view(DEFN, partners[0], partners, answers, all_submitted=True, released=True)
    page = render_shared(app, view)
    assert payload not in page and "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


# ---- per-role limits, fantasy only and the relationship map ------------------------------


def test_a_limit_on_one_role_hides_only_that_roles_match():
    partners = names(2)
    answers = {
        0: {"d.give": d({"give": "yes", "receive": "yes"}, limits={"receive"}, note="CANARY-n")},
        1: {"d.give": d({"give": "yes", "receive": "yes"})},
    }
    view = partner_view(DEFN, partners[0], partners, answers, all_submitted=True, released=True)
    assert view_as_expected_shape(view) == {
        "ITEM-give": {
            "matches": [("Partner-1", "ROLE-giving", "ROLE-receiving", "complementary")],
            "answers": [],
        }
    }
    # the other side sees the same single match, and nothing says a limit exists
    view = partner_view(DEFN, partners[1], partners, answers, all_submitted=True, released=True)
    assert [(m.viewer_role, m.other_role) for e in view.items for m in e.matches] == [
        ("ROLE-receiving", "ROLE-giving")
    ]
    assert "limit" not in repr(view).lower() and "CANARY" not in repr(view)


def test_fantasy_only_and_experience_never_reach_a_partner():
    partners = names(2)
    answers = {
        0: {"d.together": d({"together": "yes"}, fantasy=True, experience="liked", limits=())},
        1: {"d.together": d({"together": "yes"}, experience="never", limits=())},
    }
    for viewer in partners:
        view = partner_view(DEFN, viewer, partners, answers, all_submitted=True, released=True)
        assert view.items == []
        assert "liked" not in repr(view) and "never" not in repr(view)


def test_a_partner_never_sees_a_metamour():
    """0 is with 1 and with 2; 1 and 2 are not together (metamours)."""
    partners = names(3)
    yes = d({"together": "yes"}, limits=())
    answers = {k: {"d.together": yes, "w.shared": f"Shared words of {k}"} for k in range(3)}
    related = {frozenset((0, 1)), frozenset((0, 2))}
    seen = {}
    for viewer in partners:
        view = partner_view(
            DEFN,
            viewer,
            partners,
            answers,
            all_submitted=True,
            released=True,
            related=lambda a, b: frozenset((a, b)) in related,
        )
        seen[viewer.key] = sorted(
            {m.other for e in view.items for m in e.matches}
            | {a.other for e in view.items for a in e.answers}
        )
    assert seen == {0: ["Partner-1", "Partner-2"], 1: ["Partner-0"], 2: ["Partner-0"]}


# ---- agreements: what a counselor may pull in is what every partner of it already sees -------


def test_property_agreement_material_is_only_what_every_partner_of_it_sees():
    """For random answers, relationship maps and sets of agreement partners, every line the
    counselor is offered for an agreement (``agreements.material.offer``) is shown by the
    partner filter to every partner of that agreement: a match only to its two partners when
    they are the whole agreement, a shared answer to every other partner of it; no canary, no
    name of a partner outside it; and every match a couple sees is offered to that couple."""
    from counselor.agreements import material

    examples: Counter = Counter()
    material.MATERIAL_EXERCISES[DOC["slug"]] = "aftercare"  # its shared answers are material

    def plain(item, value):
        return str(value)

    @settings(max_examples=120, deadline=None)
    @given(data=answer_sets(), pick=st.data())
    @example(data=_a_couple_who_match(), pick=None)
    def check(data, pick):
        partners, answers, all_submitted, released, related = data
        keys = [p.key for p in partners]
        if pick is None:  # the explicit example: the couple's own agreement
            members = set(keys)
        elif pick.draw(st.booleans()):  # a couple's agreement (matches can be material)
            members = set(
                pick.draw(st.lists(st.sampled_from(keys), min_size=2, max_size=2, unique=True))
            )
        else:  # any partners of the case
            members = set(pick.draw(st.lists(st.sampled_from(keys), min_size=1, unique=True)))
        names_of = {p.key: p.name for p in partners}
        offered = material.offer(
            DEFN,
            "A",
            [p.key for p in partners],
            answers,
            members,
            names=names_of,
            all_submitted=all_submitted,
            related=_related(related),
            plain=plain,
            released=released,
        )
        examples["examples"] += 1
        views = {
            p.key: partner_view(
                DEFN,
                p,
                partners,
                answers,
                all_submitted=all_submitted,
                released=released,
                related=_related(related),
            )
            for p in partners
            if p.key in members
        }
        blob = "\n".join(strings_in(offered))
        forbidden = [c for p in partners for c in _forbidden_for(p.key, answers)]
        assert [c for c in forbidden if c in blob] == [], "a canary reached the material"
        outsiders = [p.name for p in partners if p.key not in members]
        assert [n for n in outsiders if n in blob] == [], "material names a partner outside it"
        if not (all_submitted and released):
            assert offered == []
            return
        for m in offered:
            if m.kind == "activity":
                examples["matches_offered"] += 1
                assert len(members) == 2
                a, b = sorted(members)
                seen_a = [
                    x
                    for i in views[a].items
                    if i.text == m.text
                    for x in i.matches
                    if x.other == names_of[b]
                ]
                seen_b = [
                    x
                    for i in views[b].items
                    if i.text == m.text
                    for x in i.matches
                    if x.other == names_of[a]
                ]
                assert seen_a and seen_b, "a match offered that its partners are not shown"
            else:
                examples["answers_offered"] += 1
                author = next(k for k, n in names_of.items() if n == m.author)
                assert author in members
                for other in members - {author}:
                    assert any(
                        x.other == m.author and plain(x.item, x.value) == m.value
                        for i in views[other].items
                        for x in i.answers
                    ), "an answer offered that another partner of the agreement is not shown"
        # not blind: every match a couple is shown is offered to that couple
        if len(members) == 2:
            a, b = sorted(members)
            shown = {
                (i.text, x.cls) for i in views[a].items for x in i.matches if x.other == names_of[b]
            }
            got = {(m.text, "x") for m in offered if m.kind == "activity"}
            assert {t for t, _ in shown} == {t for t, _ in got}
        examples["canaries_checked"] += len(forbidden)

    try:
        check()
    finally:
        del material.MATERIAL_EXERCISES[DOC["slug"]]
    print(f"\nagreement material property: {dict(examples)}")
    assert examples["matches_offered"] > 0, "no example offered a match: the checks are blind"
    assert examples["answers_offered"] > 0, "no example offered an answer: the checks are blind"
