"""A response's answers at rest: kept by part, so that a page of one section parses only
its part, and read the same whether stored by part or, as before, as one JSON object."""

from __future__ import annotations

import orjson
import pytest

from counselor.questionnaires.engine import Definition, merge, parts_read
from counselor.questionnaires.models import Response, StoredAnswers

ANSWERS = {
    "touch.kiss": {"roles": {"give": "yes", "receive": "no"}, "limits": ["receive"]},
    "touch.hold": {"roles": {"both": "maybe"}, "note": "caf\u00e9 \u201cslow\u201d\n{}[],"},
    "talk.names": "Sam \u2028 \U0001f600",
    "talk.count": 3,
    "loose": True,
    # link ids whose parts sort differently from the ids themselves
    "a-b.c": 1.5,
    "a.z": [1, 2],
}


def test_answers_stored_by_part_read_back_exactly_whole_and_a_part_at_a_time():
    text = Response.dump_answers(ANSWERS)
    assert Response.load_answers(text) == ANSWERS
    assert Response.load_answers(text.encode()) == ANSWERS
    stored = StoredAnswers(text.encode())
    assert stored.read({"touch"}) == {k: v for k, v in ANSWERS.items() if k.startswith("touch.")}
    # a part asked for again, or one that holds nothing, parses nothing more
    assert stored.read({"touch", "nothing"}).keys() == {"touch.kiss", "touch.hold"}
    assert stored.read({"talk"}).keys() == {"touch.kiss", "touch.hold", "talk.names", "talk.count"}
    assert stored.read() == ANSWERS


def test_answers_stored_before_they_were_kept_by_part_read_the_same():
    old = orjson.dumps(ANSWERS, option=orjson.OPT_SORT_KEYS).decode()
    assert Response.load_answers(old) == ANSWERS
    assert StoredAnswers(old.encode()).read({"touch"}) == ANSWERS  # one object: parsed whole
    # and one stored before NaN was refused reads as unanswered, as it did
    assert Response.load_answers('{"n.count": NaN, "n.x": 1e999}') == {
        "n.count": None,
        "n.x": None,
    }


@pytest.mark.parametrize("value", [{}, {"a": None}, {"x.y": ""}])
def test_empty_and_null_answers_round_trip(value):
    assert Response.load_answers(Response.dump_answers(value)) == value
    assert StoredAnswers(Response.dump_answers(value)).read({"x"}) == (
        {"x.y": ""} if "x.y" in value else {}
    )
    assert Response.load_answers(None) == {} and Response.load_answers("") == {}


def test_a_number_that_is_not_finite_is_still_refused():
    with pytest.raises(ValueError, match="not a finite number"):
        Response.dump_answers({"n.count": float("nan")})


def test_a_section_reads_the_parts_its_conditions_read_however_far_back():
    defn = Definition(
        {
            "title": "T",
            "items": [
                {
                    "link_id": "first",
                    "type": "group",
                    "text": "First",
                    "items": [{"link_id": "first.safe", "type": "boolean", "text": "Safe?"}],
                },
                {
                    "link_id": "second",
                    "type": "group",
                    "text": "Second",
                    "items": [{"link_id": "second.how", "type": "string", "text": "How?"}],
                },
                {
                    "link_id": "third",
                    "type": "group",
                    "text": "Third",
                    "enable_when": [
                        {"question": "second.how", "operator": "exists", "answer": True}
                    ],
                    "items": [
                        {
                            "link_id": "third.more",
                            "type": "string",
                            "text": "More?",
                            "enable_when": [
                                {"question": "first.safe", "operator": "=", "answer": True}
                            ],
                        }
                    ],
                },
            ],
        }
    )
    assert parts_read(defn, [0]) == {"first"}
    assert parts_read(defn, [1]) == {"second"}
    assert parts_read(defn, [2]) == {"first", "second", "third"}


@pytest.mark.parametrize(
    "changes",
    [
        {"touch.kiss": {"roles": {"give": "no"}, "limits": []}},  # one answer of one part
        {"touch.kiss": None},  # cleared
        {"touch.kiss": None, "touch.hold": None},  # a whole part cleared: it is left out
        {"new.one": "x", "a-b.c": 2.5},  # a part that was not there, and another changed
        {"talk.count": 3.0},  # the same number, another type: written as sent
        {"loose": False, "talk.names": "Sam \u2028 \U0001f600", "none.here": None},
    ],
)
def test_a_change_writes_the_same_text_as_the_answers_written_whole(changes):
    text = Response.dump_answers(ANSWERS)
    written = StoredAnswers(text.encode()).changed(changes)
    assert written == Response.dump_answers(merge(ANSWERS, changes))
    assert Response.load_answers(written) == merge(ANSWERS, changes)


def test_a_save_that_changes_nothing_writes_nothing():
    text = Response.dump_answers(ANSWERS)
    same = {**ANSWERS, "never.answered": None}
    assert StoredAnswers(text.encode()).changed(same) is None
    assert StoredAnswers(text).changed({"talk.count": 3}) is None
    assert StoredAnswers(None).changed({"a.b": None}) is None


def test_a_change_to_answers_stored_as_one_object_writes_them_by_part():
    old = orjson.dumps(ANSWERS, option=orjson.OPT_SORT_KEYS).decode()
    changes = {"talk.count": 4}
    assert StoredAnswers(old.encode()).changed(changes) == Response.dump_answers(
        merge(ANSWERS, changes)
    )
    assert StoredAnswers(None).changed({"a.b": 1}) == Response.dump_answers({"a.b": 1})


def test_a_change_to_a_number_that_is_not_finite_is_refused():
    with pytest.raises(ValueError, match="not a finite number"):
        StoredAnswers(Response.dump_answers(ANSWERS)).changed({"talk.count": float("inf")})


def test_a_change_spliced_into_the_stored_text_is_the_text_written_whole():
    """``changed`` encodes only the parts a change names and copies the others' bytes: on
    many generated answers and change sets (one answer of thirty, as a phone sends them, a
    few, parts added, emptied and left out, every answer sent again), the text is the one
    ``Response.dump_answers`` writes of the merged answers, and a stored text spliced again
    and again stays so."""
    import random

    rng = random.Random(16)  # noqa: S311 (generated answers, not secrets)
    parts = ["a", "a-b", "b", "t", "touch", "zz", "é"]
    values = [True, False, 0, 3, 1.5, "x", "caf\u00e9 ,}{", [1, "y"], {"roles": {"g": "yes"}}]

    def some_id():
        return f"{rng.choice(parts)}.{rng.randrange(6)}" if rng.random() < 0.9 else "loose"

    for _ in range(400):
        answers = {some_id(): rng.choice(values) for _ in range(rng.randrange(0, 30))}
        text = Response.dump_answers(answers)
        for _ in range(4):
            if rng.random() < 0.4:  # every answer sent again, one or two of them changed
                changes = dict(answers)
                for _ in range(rng.randrange(1, 3)):
                    changes[some_id()] = rng.choice([*values, None])
            else:
                count = rng.randrange(1, 5)
                changes = {some_id(): rng.choice([*values, None]) for _ in range(count)}
            written = StoredAnswers(text.encode()).changed(changes)
            merged = merge(answers, changes)
            if written is None:
                assert Response.load_answers(text) == merged
                continue
            assert written == Response.dump_answers(merged)
            answers, text = merged, written
