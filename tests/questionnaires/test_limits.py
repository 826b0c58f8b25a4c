"""Runaway enable_when (issue 8, item 2): linear evaluation and the import limits.

The attack definitions of the issue: 33 yes/no items each shown when either of the two before
is answered (exponential work for the old recursive evaluation), and a straight chain of 1,400
items (RecursionError, a 500 on every portal page). Stored definitions that predate the limits
still render; imports past the limits are refused with the path of the problem.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from counselor.core.models import utcnow
from counselor.extensions import db
from counselor.questionnaires import engine
from counselor.questionnaires.engine import Definition
from counselor.questionnaires.models import Questionnaire, QuestionnaireVersion
from counselor.questionnaires.parsing import (
    MAX_CHAIN,
    MAX_CONDITIONS,
    MAX_ITEMS,
    MAX_NESTING,
    MAX_OPTIONS,
)
from counselor.questionnaires.schema import validate_definition
from counselor.questionnaires.services import DefinitionError, load_definition
from counselor.reveal.services import release
from counselor.reveal.views import PartnerInfo, partner_view
from tests.support import assign, csrf_token_from, new_case, open_link


def _doc(items: list[dict], slug: str = "runaway") -> dict:
    return {"slug": slug, "title": "Runaway", "purpose": "p", "kind": "exercise", "items": items}


def either_of_two(n: int = 33) -> dict:
    """The 6.8 KB attack: each yes/no item shown when either of the two before is answered."""
    items = [{"link_id": "q0", "type": "boolean", "text": "Q0", "share": "shared"}]
    for i in range(1, n):
        conds = [
            {"question": f"q{j}", "operator": "exists", "answer": True}
            for j in (i - 1, i - 2)
            if j >= 0
        ]
        items.append(
            {
                "link_id": f"q{i}",
                "type": "boolean",
                "text": f"Q{i}",
                "share": "shared",
                "enable_when": conds,
                "enable_behavior": "any",
            }
        )
    return _doc(items, "either-of-two")


def straight_chain(n: int) -> dict:
    """``n`` yes/no items, each shown when the one before is answered (a chain n - 1 deep)."""
    items = [{"link_id": "c0", "type": "boolean", "text": "C0", "share": "shared"}]
    items += [
        {
            "link_id": f"c{i}",
            "type": "boolean",
            "text": f"C{i}",
            "share": "shared",
            "enable_when": [{"question": f"c{i - 1}", "operator": "exists"}],
        }
        for i in range(1, n)
    ]
    return _doc(items, "straight-chain")


class CountingAnswers(dict):
    """Answers that count how often the rules read them: the work done, without a clock."""

    reads = 0

    def get(self, key, default=None):
        self.reads += 1
        return super().get(key, default)

    def __getitem__(self, key):
        self.reads += 1
        return super().__getitem__(key)


def _conditions(defn: Definition) -> int:
    return sum(len(i.get("enable_when") or ()) for i in defn.by_id.values())


# ---- linear evaluation (pure rules) ------------------------------------------------------


def test_enabled_state_of_every_item_reads_each_condition_once():
    defn = Definition(either_of_two())
    answers = CountingAnswers({f"q{i}": True for i in range(33)})
    states = engine.enabled_states(defn, answers)
    assert all(states.values())
    # The old recursive rule re-decided every question a condition reads: ~10^7 reads here.
    assert answers.reads <= _conditions(defn)
    # progress counts the questions asked of everyone (issue 9 §6): here only q0, the
    # others are follow-ups
    assert engine.progress(defn, answers) == (1, 1)


def test_progress_and_required_check_stay_linear_on_the_chained_definition():
    defn = Definition(either_of_two())
    answers = CountingAnswers({"q0": True})
    engine.progress(defn, answers)
    engine.missing_required(defn, answers)
    engine.visible_answers(defn, answers)
    assert answers.reads <= 6 * (len(defn.order) + _conditions(defn))


def test_chain_deeper_than_the_recursion_limit_is_decided_without_recursion():
    defn = Definition(straight_chain(1_400))
    answers = {f"c{i}": True for i in range(700)}
    states = engine.enabled_states(defn, answers)
    assert [states[f"c{i}"] for i in (0, 699, 700, 701, 1_399)] == [True, True, True, False, False]
    assert engine.progress(defn, answers) == (1, 1)  # c0; every other item is a follow-up


def test_answer_to_a_hidden_question_still_does_not_count():
    defn = Definition(straight_chain(4))
    # c1 is hidden (c0 unanswered), so its stored answer does not show c2
    states = engine.enabled_states(defn, {"c1": True, "c2": True})
    assert states == {"c0": True, "c1": False, "c2": False, "c3": False}


def test_condition_on_a_later_item_in_an_old_stored_definition_is_still_decided():
    # Import refuses this order now; versions stored before the check must still render.
    doc = _doc(
        [
            {
                "link_id": "late",
                "type": "string",
                "text": "Shown when the next one is answered",
                "enable_when": [{"question": "next", "operator": "exists"}],
            },
            {"link_id": "next", "type": "boolean", "text": "Next"},
            {
                "link_id": "loop-a",
                "type": "boolean",
                "text": "A",
                "enable_when": [{"question": "loop-b", "operator": "exists"}],
            },
            {
                "link_id": "loop-b",
                "type": "boolean",
                "text": "B",
                "enable_when": [{"question": "loop-a", "operator": "exists"}],
            },
        ]
    )
    defn = Definition(doc)
    assert engine.enabled_states(defn, {"next": True}) == {
        "late": True,
        "next": True,
        "loop-a": False,
        "loop-b": False,
    }
    assert engine.enabled_states(defn, {})["late"] is False


def test_partner_filter_on_a_1400_item_chain_shows_the_shared_answers():
    defn = Definition(straight_chain(1_400))
    a, b = PartnerInfo("a", "Sam"), PartnerInfo("b", "Alex")
    answers = {k: {f"c{i}": True for i in range(1_400)} for k in ("a", "b")}
    view = partner_view(defn, a, [a, b], answers, all_submitted=True, released=True)
    assert len(view.items) == 1_400


def test_partner_filter_hides_everything_after_an_unshared_link_in_the_chain():
    doc = straight_chain(1_400)
    doc["items"][600]["share"] = "counselor_only"
    defn = Definition(doc)
    a, b = PartnerInfo("a", "Sam"), PartnerInfo("b", "Alex")
    answers = {k: {f"c{i}": True for i in range(1_400)} for k in ("a", "b")}
    view = partner_view(defn, a, [a, b], answers, all_submitted=True, released=True)
    assert [i.link_id for i in view.items] == [f"c{i}" for i in range(600)]


# ---- the import limits -------------------------------------------------------------------


def test_the_chained_attack_definition_is_within_the_limits():
    assert validate_definition(either_of_two()) == []


def test_chain_at_the_limit_is_accepted_and_one_deeper_is_refused_at_its_path():
    assert validate_definition(straight_chain(MAX_CHAIN + 1)) == []
    errors = validate_definition(straight_chain(MAX_CHAIN + 2))
    assert len(errors) == 1
    assert errors[0].startswith(f"$.items[{MAX_CHAIN + 1}].enable_when: conditions chain")
    assert f"at most {MAX_CHAIN}" in errors[0]


def test_a_group_condition_counts_in_the_chain_of_its_items():
    doc = straight_chain(MAX_CHAIN + 1)
    doc["items"].append(
        {
            "link_id": "g",
            "type": "group",
            "text": "Group",
            "enable_when": [{"question": f"c{MAX_CHAIN}", "operator": "exists"}],
            "items": [{"link_id": "g.x", "type": "boolean", "text": "X"}],
        }
    )
    errors = validate_definition(doc)
    assert errors and errors[0].startswith(f"$.items[{MAX_CHAIN + 1}].enable_when:")


def test_the_1400_item_chain_is_refused_by_its_size():
    errors = validate_definition(straight_chain(1_400))
    assert errors == [f"$.items: the definition has more than {MAX_ITEMS:,} items (groups count)"]


def test_items_at_the_limit_are_accepted():
    items = [{"link_id": f"i{n}", "type": "boolean", "text": "Yes?"} for n in range(MAX_ITEMS)]
    assert validate_definition(_doc(items)) == []
    items.append({"link_id": "one-more", "type": "boolean", "text": "Yes?"})
    assert validate_definition(_doc(items)) != []


def test_items_inside_groups_count_towards_the_limit():
    group = {
        "link_id": "g",
        "type": "group",
        "text": "G",
        "items": [{"link_id": f"i{n}", "type": "boolean", "text": "?"} for n in range(MAX_ITEMS)],
    }
    errors = validate_definition(_doc([group]))
    assert errors == [
        f"$.items[0].items: the definition has more than {MAX_ITEMS:,} items (groups count)"
    ]


def test_conditions_per_item_past_the_limit_are_refused_at_their_path():
    sources = [{"link_id": f"s{n}", "type": "boolean", "text": "?"} for n in range(30)]

    def reader(count: int) -> dict:
        return {
            "link_id": "reader",
            "type": "boolean",
            "text": "Reader",
            "enable_when": [{"question": f"s{n}", "operator": "exists"} for n in range(count)],
        }

    assert validate_definition(_doc([*sources, reader(MAX_CONDITIONS)])) == []
    errors = validate_definition(_doc([*sources, reader(MAX_CONDITIONS + 1)]))
    assert errors == [
        f"$.items[30].enable_when: {MAX_CONDITIONS + 1} conditions; at most {MAX_CONDITIONS}"
    ]


def test_options_past_the_limit_are_refused_at_their_path():
    def choice(count: int) -> dict:
        options = [{"value": f"o{n}", "label": f"Option {n}"} for n in range(count)]
        return {"link_id": "pick", "type": "choice", "text": "Pick", "options": options}

    assert validate_definition(_doc([choice(MAX_OPTIONS)])) == []
    assert validate_definition(_doc([choice(MAX_OPTIONS + 1)])) == [
        f"$.items[0].options: more than {MAX_OPTIONS} options"
    ]


def _nested(groups: int) -> dict:
    """A leaf inside ``groups`` groups: ``groups + 1`` levels of items."""
    item: dict = {"link_id": "leaf", "type": "boolean", "text": "Leaf"}
    for level in range(groups):
        item = {"link_id": f"g{level}", "type": "group", "text": "G", "items": [item]}
    return _doc([item])


def test_nesting_at_the_limit_is_accepted_and_deeper_refused():
    assert validate_definition(_nested(MAX_NESTING - 1)) == []
    errors = validate_definition(_nested(MAX_NESTING))
    assert errors == [
        "$.items[0]" + ".items[0]" * (MAX_NESTING - 1) + ".items: groups are nested too deeply "
        f"(at most {MAX_NESTING} levels)"
    ]


@pytest.mark.parametrize(
    ("where", "path"),
    [
        (lambda d: d.update(title="Bad \x00 title"), "$.title"),
        (lambda d: d.update(title="Bad \ud800 title"), "$.title"),
        (lambda d: d["items"][1].update(text="\udfff"), "$.items[1].text"),
        (lambda d: d["items"][1].update({"x\x00": 1}), "$.items[1]"),
    ],
)
def test_nul_and_lone_surrogates_anywhere_are_refused_with_their_path(where, path):
    doc = straight_chain(3)
    where(doc)
    errors = validate_definition(doc)
    assert len(errors) == 1 and errors[0].startswith(f"{path}: contains a NUL character")


def test_the_built_in_library_is_well_inside_the_limits():
    from counselor.questionnaires.services import library_files

    for name, doc in library_files():
        assert validate_definition(doc) == [], name


def test_a_250_item_inventory_passes():
    groups = [
        {
            "link_id": f"part{g}",
            "type": "group",
            "text": f"Part {g}",
            "items": [
                {
                    "link_id": f"part{g}.d{n}",
                    "type": "desire",
                    "text": f"Activity {g}.{n}",
                    "roles": [
                        {"key": "give", "label": "Give", "counterpart": "receive"},
                        {"key": "receive", "label": "Receive", "counterpart": "give"},
                    ],
                }
                for n in range(49)
            ],
        }
        for g in range(5)
    ]
    assert sum(1 for _ in engine.walk(groups)) == 250
    assert validate_definition(_doc(groups)) == []


# ---- through HTTP ------------------------------------------------------------------------


def _store_unchecked(account, doc: dict) -> None:
    """Store a version as one stored before the limits existed would be (no validation)."""
    q = Questionnaire(
        slug=doc["slug"], owner_id=account.id, title="Runaway", purpose="p", kind="exercise"
    )
    q.versions.append(
        QuestionnaireVersion(
            number=1, definition_json=json.dumps(doc), checksum="0" * 64, published_at=utcnow()
        )
    )
    db.session.add(q)
    db.session.commit()


def _partner_pages(sections: int) -> Iterator[str]:
    yield from ("/p/", *(f"/p/s/{n}" for n in range(1, sections + 1)), "/p/review", "/p/shared")


def _walk_every_page(app, client_a, counselor_a, doc: dict, answers: dict) -> None:
    case = new_case(counselor_a)
    assignment, tokens = assign(case, doc["slug"], owner_id=counselor_a.id)
    browsers = [open_link(app.test_client(), token, name=name) for name, token in tokens.items()]
    for browser in browsers:
        browser.answer_and_submit(answers)
    release(assignment)
    db.session.commit()
    defn = Definition(doc)
    for browser in browsers:
        for path in _partner_pages(len(defn.sections)):
            browser.get(path)  # asserts a 200
    base = f"/cases/{case.id}/assignments/{assignment.id}"
    for path in (base, f"{base}/compare", f"{base}/export.csv"):
        r = client_a.get(path)
        assert r.status_code == 200, (path, r.status_code)


def test_chained_attack_definition_imports_and_every_page_renders(app, client_a, counselor_a):
    doc = either_of_two()
    r = client_a.get("/questionnaires/import")
    r = client_a.post(
        "/questionnaires/import",
        data={"definition": json.dumps(doc), "csrf_token": csrf_token_from(r.get_data(True))},
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    _walk_every_page(app, client_a, counselor_a, doc, {f"q{i}": True for i in range(33)})


def test_stored_1400_item_chain_renders_every_page(app, client_a, counselor_a):
    doc = straight_chain(1_400)
    _store_unchecked(counselor_a, doc)
    _walk_every_page(app, client_a, counselor_a, doc, {f"c{i}": True for i in range(40)})


def test_importing_past_the_limits_names_the_path(app, client_a):
    page = client_a.get("/questionnaires/import").get_data(as_text=True)
    r = client_a.post(
        "/questionnaires/import",
        data={
            "definition": json.dumps(straight_chain(MAX_CHAIN + 2)),
            "csrf_token": csrf_token_from(page),
        },
    )
    assert r.status_code == 400
    assert f"$.items[{MAX_CHAIN + 1}].enable_when: conditions chain" in r.get_data(as_text=True)
    assert (
        db.session.scalar(select(Questionnaire).where(Questionnaire.slug == "straight-chain"))
        is None
    )


def test_load_definition_refuses_past_the_limits(app, counselor_a):
    with pytest.raises(DefinitionError) as caught:
        load_definition(straight_chain(MAX_CHAIN + 2), counselor_a.id)
    assert caught.value.errors[0].startswith(f"$.items[{MAX_CHAIN + 1}].enable_when")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"slug": "x", "items": [' + "9" * 5_000 + "]}", "more than 40 digits"),
        ('{"slug": "x", "estimated_minutes": NaN}', "NaN is not a number"),
        ('{"slug": "x", "estimated_minutes": -Infinity}', "-Infinity is not a number"),
        ('{"slug": "x", "estimated_minutes": 1e400}', "is too large"),
        ("[" * 100_000, "nested too deeply"),
        ('{"slug": "x",', "not valid JSON"),
        ('{"title": "\\u0000"}', "$.title: contains a NUL character"),
        ('{"title": "\\ud800"}', "$.title: contains a NUL character or an unpaired surrogate"),
    ],
)
def test_import_of_unreadable_json_is_a_400_with_a_sentence(app, client_a, text, problem):
    page = client_a.get("/questionnaires/import").get_data(as_text=True)
    r = client_a.post(
        "/questionnaires/import", data={"definition": text, "csrf_token": csrf_token_from(page)}
    )
    assert r.status_code == 400
    assert problem in html.unescape(r.get_data(as_text=True))
