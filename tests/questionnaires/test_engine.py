"""enable_when semantics, answer normalisation and required checks (pure rules, no database)."""

from __future__ import annotations

import pytest

from counselor.questionnaires import engine
from counselor.questionnaires.engine import AnswerError, Definition
from counselor.questionnaires.schema import validate_definition

SOURCES = [
    {"link_id": "b", "type": "boolean", "text": "Boolean"},
    {
        "link_id": "c",
        "type": "choice",
        "text": "Choice",
        "options": [
            {"value": "low", "label": "Low"},
            {"value": "mid", "label": "Mid"},
            {"value": "high", "label": "High"},
        ],
    },
    {
        "link_id": "m",
        "type": "choice",
        "text": "Multiple",
        "multiple": True,
        "options": [
            {"value": "x", "label": "X"},
            {"value": "y", "label": "Y"},
            {"value": "z", "label": "Z"},
        ],
    },
    {"link_id": "i", "type": "integer", "text": "Integer", "min": -100, "max": 100},
    {
        "link_id": "s",
        "type": "scale",
        "text": "Scale",
        "min": 0,
        "max": 10,
        "min_label": "none",
        "max_label": "all",
    },
    {"link_id": "t", "type": "string", "text": "String"},
    {"link_id": "d", "type": "decimal", "text": "Decimal", "min": 0, "max": 99.5},
]


def _defn(*dependents) -> Definition:
    doc = {
        "slug": "rules",
        "title": "Rules",
        "purpose": "p",
        "kind": "exercise",
        "items": [*SOURCES, *dependents],
    }
    assert validate_definition(doc) == [], validate_definition(doc)
    return Definition(doc)


def _dep(question, operator, answer=None, link_id="dep", **extra):
    cond = {"question": question, "operator": operator}
    if answer is not None or operator != "exists":
        cond["answer"] = answer
    return {"link_id": link_id, "type": "text", "text": "Dependent", "enable_when": [cond], **extra}


CASES = [
    # (question, operator, wanted, stored answer, enabled?)
    ("b", "exists", True, True, True),
    ("b", "exists", True, False, True),
    ("b", "exists", True, None, False),
    ("b", "exists", False, None, True),
    ("b", "exists", False, True, False),
    ("b", "=", True, True, True),
    ("b", "=", True, False, False),
    ("b", "=", False, False, True),
    ("b", "!=", True, False, True),
    ("b", "!=", True, True, False),
    ("b", "!=", True, None, False),
    ("c", "=", "mid", "mid", True),
    ("c", "=", "mid", "low", False),
    ("c", "=", "mid", None, False),
    ("c", "!=", "mid", "low", True),
    ("c", "!=", "mid", "mid", False),
    ("c", "exists", True, "high", True),
    ("c", "exists", False, "high", False),
    ("m", "=", "y", ["x", "y"], True),
    ("m", "=", "y", ["x", "z"], False),
    ("m", "!=", "y", ["x", "z"], True),
    ("m", "!=", "y", ["x", "y"], False),
    ("m", "exists", True, [], False),
    ("i", "=", 5, 5, True),
    ("i", "=", 5, 6, False),
    ("i", "!=", 5, 6, True),
    ("i", "!=", 5, 5, False),
    ("i", ">", 5, 6, True),
    ("i", ">", 5, 5, False),
    ("i", ">", 5, -7, False),
    ("i", "<", 5, 4, True),
    ("i", "<", 5, 5, False),
    ("i", "<", -3, -10, True),
    ("i", ">=", 5, 5, True),
    ("i", ">=", 5, 4, False),
    ("i", ">=", 5, 50, True),
    ("i", "<=", 5, 5, True),
    ("i", "<=", 5, 6, False),
    ("i", "<=", 5, 0, True),
    ("i", ">", 5, None, False),
    ("i", "<", 5, None, False),  # no answer never compares
    ("i", "<=", 0, 0, True),
    ("i", "exists", True, 0, True),  # zero is an answer
    ("s", ">=", 7, 7, True),
    ("s", ">=", 7, 6, False),
    ("s", "<", 3, 2, True),
    ("s", "<", 3, 10, False),
    ("s", ">", 9, 10, True),
    ("s", "<=", 0, 0, True),
    ("s", "=", 0, 0, True),
    ("s", "!=", 0, 0, False),
    ("s", "exists", True, 0, True),
    ("s", "exists", True, None, False),
    ("s", "exists", False, 3, False),
    ("t", "=", "yes", "yes", True),
    ("t", "=", "yes", "Yes", False),
    ("t", "!=", "yes", "no", True),
    ("t", "exists", True, "words", True),
    ("t", "exists", True, "", False),
    ("t", "exists", False, "", True),
    ("t", ">", "b", "c", True),
    ("t", "<", "b", "a", True),
    ("t", ">=", "b", "a", False),
    ("d", ">", 2.5, "2.75", True),
    ("d", ">", 2.5, "2.5", False),
    ("d", ">=", 2.5, "2.50", True),
    ("d", "<", 10, "9.99", True),
    ("d", "<=", 10, "10.01", False),
    ("d", "=", 2.5, "2.5", True),  # a stored decimal equals the same number
    ("d", "=", 2.5, "2.50", True),
    ("d", "!=", 2.5, "2.5", False),
    ("d", "=", 3, "3.0", True),
    ("t", ">", 5, "NaN", False),  # text that no number is: no order, and no error
    ("t", "!=", 5, "NaN", True),
]


@pytest.mark.parametrize("question,operator,wanted,stored,enabled", CASES)
def test_enable_when_operator(question, operator, wanted, stored, enabled):
    defn = _defn(_dep(question, operator, wanted))
    answers = {} if stored is None else {question: stored}
    assert engine.is_enabled(defn, defn.by_id["dep"], answers) is enabled


def test_the_operator_table_covers_every_operator_and_type():
    ops_by_type: dict[str, set] = {}
    for question, operator, *_ in CASES:
        ops_by_type.setdefault(question, set()).add(operator)
    for q in ("b", "c", "i", "s", "t"):
        assert ops_by_type[q] >= {"exists", "=", "!="}, q
    for q in ("i", "s"):
        assert ops_by_type[q] >= {">", "<", ">=", "<="}, q


def test_enable_behavior_all_and_any():
    both = [
        {"question": "b", "operator": "=", "answer": True},
        {"question": "s", "operator": ">=", "answer": 5},
    ]
    defn = _defn(
        {"link_id": "all", "type": "text", "text": "All", "enable_when": both},
        {
            "link_id": "all2",
            "type": "text",
            "text": "All (explicit)",
            "enable_when": both,
            "enable_behavior": "all",
        },
        {
            "link_id": "any",
            "type": "text",
            "text": "Any",
            "enable_when": both,
            "enable_behavior": "any",
        },
    )
    for answers, all_, any_ in [
        ({}, False, False),
        ({"b": True}, False, True),
        ({"s": 6}, False, True),
        ({"b": True, "s": 6}, True, True),
        ({"b": False, "s": 4}, False, False),
    ]:
        assert engine.is_enabled(defn, defn.by_id["all"], answers) is all_, answers
        assert engine.is_enabled(defn, defn.by_id["all2"], answers) is all_, answers
        assert engine.is_enabled(defn, defn.by_id["any"], answers) is any_, answers


def test_an_answer_to_a_hidden_question_does_not_enable_its_dependents():
    defn = _defn(
        _dep(
            "b",
            "=",
            True,
            link_id="middle",
            type="choice",
            text="Middle",
            options=[{"value": "go", "label": "Go"}, {"value": "stop", "label": "Stop"}],
        ),
        _dep("middle", "=", "go", link_id="last"),
        _dep("middle", "exists", False, link_id="when_middle_empty"),
    )
    last, middle = defn.by_id["last"], defn.by_id["middle"]
    assert engine.is_enabled(defn, last, {"b": True, "middle": "go"})
    # b turned to "no": middle is hidden, so its stale "go" must not show "last"
    stale = {"b": False, "middle": "go"}
    assert not engine.is_enabled(defn, middle, stale)
    assert not engine.is_enabled(defn, last, stale)
    assert engine.is_enabled(defn, defn.by_id["when_middle_empty"], stale)
    # and what readers see leaves the hidden answer out
    assert engine.visible_answers(defn, stale) == {"b": False}


def test_nested_groups_hide_their_children_and_grandchildren():
    defn = _defn(
        {
            "link_id": "outer",
            "type": "group",
            "text": "Outer",
            "enable_when": [{"question": "b", "operator": "=", "answer": True}],
            "items": [
                {"link_id": "outer.q", "type": "text", "text": "In outer", "required": True},
                {
                    "link_id": "inner",
                    "type": "group",
                    "text": "Inner",
                    "enable_when": [{"question": "s", "operator": ">", "answer": 3}],
                    "items": [
                        {
                            "link_id": "inner.q",
                            "type": "string",
                            "text": "In inner",
                            "required": True,
                        }
                    ],
                },
            ],
        },
    )
    inner_q, outer_q = defn.by_id["inner.q"], defn.by_id["outer.q"]
    assert not engine.is_enabled(defn, outer_q, {})
    assert not engine.is_enabled(defn, inner_q, {"s": 9})  # parent group hidden
    assert engine.is_enabled(defn, outer_q, {"b": True})
    assert not engine.is_enabled(defn, inner_q, {"b": True, "s": 2})
    assert engine.is_enabled(defn, inner_q, {"b": True, "s": 4})
    assert engine.missing_required(defn, {}) == {}
    assert set(engine.missing_required(defn, {"b": True})) == {"outer.q"}
    assert set(engine.missing_required(defn, {"b": True, "s": 8})) == {"outer.q", "inner.q"}
    # the group's items form one section; the sources before it form another
    assert [s.link_id for s in defn.sections] == ["intro", "outer"]
    assert defn.section_of("inner.q").link_id == "outer"


def test_missing_required_ignores_disabled_items_and_counts_empty_desires():
    defn = _defn(
        _dep("b", "=", True, link_id="why", required=True),
        {
            "link_id": "want",
            "type": "desire",
            "text": "Want",
            "required": True,
            "roles": [
                {"key": "give", "label": "Give", "counterpart": "receive"},
                {"key": "receive", "label": "Receive", "counterpart": "give"},
            ],
        },
    )
    assert set(engine.missing_required(defn, {"b": False})) == {"want"}
    assert set(engine.missing_required(defn, {"b": True})) == {"why", "want"}
    assert "role" in engine.missing_required(defn, {})["want"]
    assert (
        engine.missing_required(
            defn, {"b": True, "why": "because", "want": {"roles": {"give": "maybe"}}}
        )
        == {}
    )
    # a desire with only an empty note and no roles is still unanswered
    assert "want" in engine.missing_required(
        defn, {"want": {"roles": {}, "hard_limit": False, "note": ""}}
    )


def test_progress_counts_the_questions_asked_of_everyone_and_n_never_moves():
    # issue 9 §6: the library said 24, the portal "0 of 21", the review "of 22" and "of 23";
    # a follow-up appearing for an answer must not change N.
    defn = _defn(_dep("b", "=", True, link_id="why"))
    n = len(SOURCES)
    assert len(defn.counted_questions()) == n
    assert engine.progress(defn, {}) == (0, n)
    assert engine.progress(defn, {"b": True}) == (1, n)
    assert engine.progress(defn, {"b": True, "why": "x"}) == (1, n)


# ---- normalise: one answer per type, including refusals ----

ITEMS = {
    "boolean": {"link_id": "q", "type": "boolean", "text": "q"},
    "choice": SOURCES[1],
    "multiple": SOURCES[2],
    "open": {
        "link_id": "q",
        "type": "open-choice",
        "text": "q",
        "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}],
    },
    "string": {"link_id": "q", "type": "string", "text": "q"},
    "short": {"link_id": "q", "type": "string", "text": "q", "max_length": 5},
    "text": {"link_id": "q", "type": "text", "text": "q"},
    "integer": SOURCES[3],
    "decimal": SOURCES[6],
    "date": {"link_id": "q", "type": "date", "text": "q"},
    "scale": SOURCES[4],
    "scale5": {
        "link_id": "q",
        "type": "scale",
        "text": "q",
        "min": 1,
        "max": 5,
        "min_label": "a",
        "max_label": "b",
    },
    "desire": {
        "link_id": "q",
        "type": "desire",
        "text": "q",
        "roles": [
            {"key": "lead", "label": "Lead", "counterpart": "follow"},
            {"key": "follow", "label": "Follow", "counterpart": "lead"},
        ],
    },
}

ACCEPTED = [
    ("boolean", True, True),
    ("boolean", False, False),
    ("boolean", "true", True),
    ("boolean", "false", False),
    ("choice", "mid", "mid"),
    ("multiple", ["z", "x"], ["x", "z"]),
    ("multiple", "y", ["y"]),
    ("open", "a", "a"),
    ("open", "  my own words ", "my own words"),
    ("string", "héllo 🌶", "héllo 🌶"),
    ("short", "abcde", "abcde"),
    ("text", "line\r\nnext\ttab", "line\r\nnext\ttab"),
    ("text", "x" * engine.MAX_TEXT, "x" * engine.MAX_TEXT),
    ("integer", 7, 7),
    ("integer", "-100", -100),
    ("integer", 100.0, 100),
    ("integer", " 42 ", 42),
    ("decimal", "2,5", "2.5"),
    ("decimal", 99.5, "99.5"),
    ("decimal", "0", "0"),
    ("date", "2026-03-01", "2026-03-01"),
    ("scale", 0, 0),
    ("scale", "10", 10),
    ("scale5", 1, 1),
    (
        "desire",
        {"roles": {"lead": "yes", "follow": "no"}},
        {
            "roles": {"lead": "yes", "follow": "no"},
            "limits": [],
            "fantasy": False,
            "experience": "",
            "note": "",
        },
    ),
    (
        "desire",
        {"roles": {"follow": "no"}, "limits": ["follow", "lead"], "experience": "disliked"},
        {
            "roles": {"follow": "no"},
            "limits": ["lead", "follow"],
            "fantasy": False,
            "experience": "disliked",
            "note": "",
        },
    ),
    (
        "desire",
        {"roles": {"lead": "yes"}, "fantasy": True, "experience": "never"},
        {
            "roles": {"lead": "yes"},
            "limits": [],
            "fantasy": True,
            "experience": "never",
            "note": "",
        },
    ),
    (  # an item-wide limit as older pages sent it: a limit on every role answered
        "desire",
        {"roles": {"follow": "if_partner"}, "hard_limit": True, "note": "slowly"},
        {
            "roles": {"follow": "if_partner"},
            "limits": ["follow"],
            "fantasy": False,
            "experience": "",
            "note": "slowly",
        },
    ),
    (
        "desire",
        {"roles": {"lead": ""}, "hard_limit": False, "note": ""},
        None,
    ),  # nothing chosen = cleared
    ("text", "", None),
    ("choice", None, None),
    ("multiple", [], None),
]


@pytest.mark.parametrize("kind,raw,stored", ACCEPTED)
def test_normalise_accepts(kind, raw, stored):
    assert engine.normalise(ITEMS[kind], raw) == stored


REFUSED = [
    ("boolean", "perhaps"),
    ("boolean", 2),
    ("boolean", ["true"]),
    ("choice", "nope"),
    ("choice", ["low", "high"]),
    ("choice", {"value": "low"}),
    ("choice", 1),
    ("multiple", ["x", "nope"]),
    ("open", 5),
    ("open", "a\x00"),
    ("open", "y" * 1001),
    ("string", "x" * 1001),
    ("short", "abcdef"),
    ("string", "a\x00b"),
    ("string", 12),
    ("string", ["a"]),
    ("text", "x" * (engine.MAX_TEXT + 1)),
    ("text", "\x00"),
    ("text", {"a": 1}),
    ("integer", 101),
    ("integer", -101),
    ("integer", "1.5"),
    ("integer", 1.5),
    ("integer", True),
    ("integer", "ten"),
    ("integer", "9" * 5000),
    ("integer", 10**13),
    ("integer", float("nan")),
    ("integer", float("inf")),
    ("integer", [1]),
    ("decimal", "100"),
    ("decimal", "-0.1"),
    ("decimal", "abc"),
    ("decimal", "NaN"),
    ("decimal", "Infinity"),
    ("decimal", True),
    ("decimal", "1" * 41),
    ("date", "2026-02-30"),
    ("date", "tomorrow"),
    ("date", "2026-13-01"),
    ("date", ["2026-03-01"]),
    ("scale", 11),
    ("scale", -1),
    ("scale", "7.5"),
    ("scale5", 0),
    ("scale5", 6),
    ("desire", {"roles": {"boss": "yes"}}),
    ("desire", {"roles": {"lead": "sure"}}),
    ("desire", {"roles": ["lead"]}),
    ("desire", {"roles": {"lead": "yes"}, "hard_limit": "yes"}),
    ("desire", {"roles": {"lead": "yes"}, "limits": ["kneel"]}),
    ("desire", {"roles": {"lead": "yes"}, "limits": "lead"}),
    ("desire", {"roles": {"lead": "yes"}, "fantasy": "yes"}),
    ("desire", {"roles": {"lead": "yes"}, "experience": "sometimes"}),
    ("desire", {"roles": {"lead": "yes"}, "extra": 1}),
    ("desire", {"roles": {"lead": "yes"}, "note": "\x00"}),
    ("desire", {"roles": {"lead": "yes"}, "note": "n" * (engine.MAX_NOTE + 1)}),
    ("desire", "yes"),
    ("desire", ["yes"]),
]


@pytest.mark.parametrize("kind,raw", REFUSED)
def test_normalise_refuses_with_a_message(kind, raw):
    item = ITEMS[kind]
    defn = Definition(
        {"slug": "one", "title": "t", "purpose": "p", "kind": "exercise", "items": [item]}
    )
    clean, errors = engine.validate_changes(defn, {item["link_id"]: raw})
    assert set(errors) == {item["link_id"]} and errors[item["link_id"]].strip(), (raw, clean)
    assert clean == {}


def test_text_refuses_lone_surrogates_that_cannot_be_stored():
    """A JSON body may carry "\\ud800"; such text cannot be encoded (and so not encrypted)."""
    defn = Definition(
        {"slug": "one", "title": "t", "purpose": "p", "kind": "exercise", "items": [ITEMS["text"]]}
    )
    clean, errors = engine.validate_changes(defn, {"q": "before \ud800 after"})
    assert "q" in errors and clean == {}


@pytest.mark.parametrize("link_id", ["nope", "", "b.", "dep", None, 3])
def test_validate_changes_raises_answer_error_for_unknown_link_ids(link_id):
    defn = _defn()
    with pytest.raises(AnswerError):
        engine.validate_changes(defn, {"b": True, link_id: "x"})


def test_validate_changes_refuses_items_that_have_no_answer():
    defn = _defn(
        {
            "link_id": "g",
            "type": "group",
            "text": "G",
            "items": [
                {"link_id": "g.note", "type": "display", "text": "Read me"},
                {"link_id": "g.q", "type": "text", "text": "Q"},
            ],
        }
    )
    for link_id in ("g", "g.note"):
        with pytest.raises(AnswerError):
            engine.validate_changes(defn, {link_id: "x"})


def test_merge_clears_with_none_and_keeps_the_rest():
    assert engine.merge({"a": 1, "b": 2}, {"a": None, "c": 3}) == {"b": 2, "c": 3}


# ---- compare_values: one rule across types, checked both ways ----

#: (have, operator, want, expected); each also holds mirrored: want <op'> have
COMPARISONS = [
    ("2.5", "=", 2.5, True),
    ("2.50", "=", 2.5, True),
    ("2.5", "=", "2.50", True),  # two numerals compare as numbers
    ("2.5", "<", 2.51, True),
    ("2.5", ">=", 2.5, True),
    ("0.1", "=", 0.1, True),
    (3, "=", "3.0", True),
    (3, "=", 3.0, True),
    (7, ">", 6.5, True),
    ("10", ">", "9", True),  # by value, not by characters
    ("-1.5", "<", 0, True),
    ("1e2", "=", 100, True),
    ("abc", "=", 5, False),
    ("abc", "!=", 5, True),
    ("abc", ">", 5, False),
    ("abc", "<", 5, False),
    ("NaN", ">", 5, False),
    ("NaN", "=", "NaN", True),  # text equal to text
    ("Infinity", ">", 5, False),
    ("1e999", ">", 5, False),  # out of a double's range: text, as in the portal's script
    ("-inf", "<", 0, False),
    (" 5", "=", 5, False),  # spaces make it text
    (float("nan"), "=", float("nan"), False),
    (float("nan"), "!=", 1, True),
    (float("inf"), ">", 1, False),
    (True, "=", True, True),
    (True, "=", "true", False),  # a boolean is no text
    (True, "=", 1, False),  # nor a number
    (False, "!=", 0, True),
    (True, ">", False, False),  # booleans have no order
    ("yes", "=", "yes", True),
    ("yes", "=", "Yes", False),
    ("b", "<", "c", True),
    ("2026-03-01", ">", "2026-02-28", True),  # ISO dates order as text
    ("2026-03-01", "<=", "2026-03-01", True),
    ({"roles": {"x": "yes"}}, "=", "yes", False),
    ({"roles": {"x": "yes"}}, "!=", "yes", True),
]
MIRROR = {"=": "=", "!=": "!=", ">": "<", "<": ">", ">=": "<=", "<=": ">="}


@pytest.mark.parametrize("have,op,want,expected", COMPARISONS)
def test_compare_values_one_rule_both_ways(have, op, want, expected):
    assert engine.compare_values(op, have, want) is expected
    assert engine.compare_values(MIRROR[op], want, have) is expected


@pytest.mark.parametrize(
    "chosen,op,want,expected",
    [
        (["x", "y"], "=", "y", True),
        (["x", "y"], "!=", "y", False),
        (["x", "y"], "!=", "z", True),
        (["1", "2"], "=", 2, True),  # numerals among the chosen values compare by value
        ([], "=", "x", False),
    ],
)
def test_compare_values_on_a_multiple_choice(chosen, op, want, expected):
    assert engine.compare_values(op, chosen, want) is expected


def test_compare_values_never_raises_whatever_it_is_given():
    odd = [
        "NaN",
        "sNaN",
        "-Infinity",
        "1e999",
        "1e-999",
        float("nan"),
        float("-inf"),
        None,
        {},
        [],
        "",
        "0x10",
        "1_000",
        "٣",
    ]
    for have in odd:
        for want in [*odd, 0, 2.5, "2.5", True, "text"]:
            for op in MIRROR:
                engine.compare_values(op, have, want)


NON_FINITE = ["NaN", "nan", "Infinity", "-inf", "+Infinity", "1e999", "-1e999", "sNaN"]


@pytest.mark.parametrize("kind", ["integer", "decimal", "scale"])
@pytest.mark.parametrize("raw", [*NON_FINITE, float("nan"), float("inf"), float("-inf")], ids=repr)
def test_non_finite_numbers_are_refused_with_a_sentence(kind, raw):
    item = ITEMS[kind]
    defn = Definition(
        {"slug": "one", "title": "t", "purpose": "p", "kind": "exercise", "items": [item]}
    )
    clean, errors = engine.validate_changes(defn, {item["link_id"]: raw})
    assert clean == {}
    message = errors[item["link_id"]]
    assert message.startswith("Enter ") and message.endswith("."), message


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("where", ["answer", "min"])
def test_a_definition_with_a_non_finite_number_is_refused_by_path(bad, where):
    dep = {"link_id": "dep", "type": "decimal", "text": "Dependent"}
    if where == "answer":
        dep["enable_when"] = [{"question": "i", "operator": ">", "answer": bad}]
    else:
        dep["min"] = bad
    doc = {
        "slug": "rules",
        "title": "Rules",
        "purpose": "p",
        "kind": "exercise",
        "items": [*SOURCES, dep],
    }
    errors = validate_definition(doc)
    path = f"$.items[{len(SOURCES)}]." + ("enable_when[0].answer" if where == "answer" else "min")
    assert any(e.startswith(path + ": ") and "not a number" in e for e in errors), errors


def test_a_range_bound_that_is_no_number_limits_nothing_instead_of_failing():
    """A definition stored before non-finite numbers were refused still takes answers."""
    item = {"link_id": "d", "type": "decimal", "text": "D", "min": float("nan"), "max": 10}
    defn = Definition(
        {"slug": "one", "title": "t", "purpose": "p", "kind": "exercise", "items": [item]}
    )
    assert engine.validate_changes(defn, {"d": "-3"}) == ({"d": "-3"}, {})
    assert engine.validate_changes(defn, {"d": "11"})[1] == {"d": "Enter 10 or less."}


@pytest.mark.parametrize(
    "roles,message",
    [
        # a role the item does not have, sent before or after a refused answer: the first
        # refusal in the order sent is the one shown
        ({"boss": "yes", "lead": "sure"}, "names a role"),
        ({"lead": "sure", "boss": "yes"}, "Choose one of the answers shown"),
        ({"follow": "yes", "lead": 3}, "Choose one of the answers shown"),
        ({"follow": "", "lead": None, "boss": ""}, "names a role"),
    ],
)
def test_a_desire_answer_s_roles_are_refused_in_the_order_sent(roles, message):
    item = ITEMS["desire"]
    defn = Definition(
        {"slug": "one", "title": "t", "purpose": "p", "kind": "exercise", "items": [item]}
    )
    _, errors = engine.validate_changes(defn, {"q": {"roles": roles}})
    assert message in errors["q"]


def test_a_desire_answer_s_roles_are_stored_in_the_item_s_order_without_blanks():
    item = ITEMS["desire"]
    defn = Definition(
        {"slug": "one", "title": "t", "purpose": "p", "kind": "exercise", "items": [item]}
    )
    raw = {"roles": {"follow": "maybe", "lead": "yes"}, "limits": ["follow"], "note": ""}
    clean, errors = engine.validate_changes(defn, {"q": raw})
    assert not errors
    assert list(clean["q"]["roles"].items()) == [("lead", "yes"), ("follow", "maybe")]
    blank = {"roles": {"lead": "", "follow": None}, "limits": [], "fantasy": False}
    assert engine.validate_changes(defn, {"q": blank}) == ({"q": None}, {})
