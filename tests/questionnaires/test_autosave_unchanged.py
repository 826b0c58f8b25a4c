"""A phone sends every answer of its section at each autosave: the answers sent exactly as
they are stored (checked when they were stored, against the same immutable version) are not
checked again; every other answer is, and a bad one is still refused with a clear 4xx."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from counselor.extensions import db
from counselor.portal import services as portal_services
from counselor.questionnaires import engine
from counselor.questionnaires.models import Response, StoredAnswers
from tests.support import (
    assign_http,
    autosave,
    load_own,
    open_link,
    partner_named,
    response_of,
    section,
)

TOUCH = {"roles": {"together": "yes"}, "limits": [], "fantasy": False, "experience": "", "note": ""}
FIRST = {"one.feel": "calm", "one.ok": True, "one.count": 3, "two.touch": TOUCH}


@pytest.fixture
def checked(monkeypatch) -> list[set]:
    """The link ids each save hands to ``validate_changes``, one set a save."""
    seen: list[set] = []
    real = engine.validate_changes

    def spy(defn, changes):
        seen.append(set(changes))
        return real(defn, changes)

    monkeypatch.setattr(portal_services.engine, "validate_changes", spy)
    return seen


@pytest.fixture
def sam(app, client_a, couple, counselor_a):
    """Sam's phone with FIRST saved: (client, csrf, revision, assignment id, partner id)."""
    _, tokens = assign_http(client_a, couple, load_own(counselor_a).id)
    phone = app.test_client()
    open_link(phone, tokens["Sam Rivera"])
    _, csrf, rev = section(phone, 1)
    assert autosave(phone, csrf, rev, FIRST).status_code == 200
    partner_id = partner_named(couple, "Sam Rivera").id
    saved = db.session.scalars(select(Response).where(Response.partner_id == partner_id)).one()
    return phone, csrf, rev + 1, saved.assignment_id, partner_id


def test_answers_sent_as_stored_are_not_checked_again_and_a_changed_one_is(sam, checked):
    phone, csrf, rev, assignment_id, partner_id = sam
    r = autosave(phone, csrf, rev, {**FIRST, "one.feel": "calmer"})
    assert r.status_code == 200, r.get_json()
    assert checked == [{"one.feel"}]  # only the changed answer
    assert response_of(assignment_id, partner_id).answers == {**FIRST, "one.feel": "calmer"}

    r = autosave(phone, csrf, rev + 1, {**FIRST, "one.feel": "calmer"})  # nothing changed
    assert r.status_code == 200 and r.get_json()["revision"] == rev + 2
    assert checked[-1] == set()


@pytest.mark.parametrize(
    ("changed", "error"),
    [
        ({"one.count": 51}, "Enter 50 or less."),
        ({"one.feel": "x" * 10_001}, "Please keep this under 10,000 characters"),
        ({"two.touch": {**TOUCH, "roles": {"together": "perhaps"}}}, "Choose one of the answers"),
        # equal to the stored answers by Python's rules, not exactly: checked, and refused
        ({"one.ok": 1}, "Choose yes or no."),
        ({"two.touch": {**TOUCH, "fantasy": 0}}, "A tick box is either ticked or not."),
    ],
)
def test_a_changed_bad_answer_sent_among_stored_ones_is_refused_and_nothing_saved(
    sam, checked, changed, error
):
    phone, csrf, rev, assignment_id, partner_id = sam
    r = autosave(phone, csrf, rev, {**FIRST, **changed})
    assert r.status_code == 400
    (link_id,) = changed
    assert error in r.get_json()["errors"][link_id]
    assert checked == [{link_id}]
    stored = response_of(assignment_id, partner_id)
    assert stored.answers == FIRST and stored.revision == rev


def test_an_unknown_question_is_refused_even_beside_stored_answers(sam):
    phone, csrf, rev, assignment_id, partner_id = sam
    for value in (None, "calm", TOUCH):
        r = autosave(phone, csrf, rev, {**FIRST, "one.forged": value})
        assert r.status_code == 400 and "not a question" in r.get_json()["error"]
    assert response_of(assignment_id, partner_id).revision == rev


def test_a_cleared_answer_is_still_cleared(sam):
    phone, csrf, rev, assignment_id, partner_id = sam
    r = autosave(phone, csrf, rev, {**FIRST, "one.count": None, "two.touch": ""})
    assert r.status_code == 200
    assert response_of(assignment_id, partner_id).answers == {"one.feel": "calm", "one.ok": True}


def test_answers_read_first_are_written_again_only_where_they_changed():
    """``changed`` after ``read_of`` (what a save compares first): the same text as the
    answers merged and written whole."""
    stored = {"a.x": "one", "b.y": 2, "c.z": {"k": [1, 2]}, "d": True}
    text = Response.dump_answers(stored)
    for first_read in (None, {"b.y"}, {"a.x", "b.y", "c.z", "d"}):
        answers = StoredAnswers(text)
        answers.read_of(first_read or {})
        if first_read is None:
            answers.read()
        for clean in ({"b.y": 3}, {"a.x": None}, {"e.w": "new"}, {"b.y": 2}):
            merged = engine.merge(stored, clean)
            expected = None if merged == stored else Response.dump_answers(merged)
            assert StoredAnswers(text).changed(clean) == expected
            assert answers.changed(clean) == expected


def _numbers_inside(value, path=()) -> set[tuple]:
    """Where a stored answer holds a boolean or a number below its top (Python's equality
    mixes those types: a save's comparison must check their type)."""
    if isinstance(value, dict):
        return set().union(*(_numbers_inside(v, (*path, k)) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(_numbers_inside(v, (*path, i)) for i, v in enumerate(value)))
    return {path} if path and isinstance(value, (bool, int, float)) else set()


@pytest.mark.parametrize(
    ("item", "raw"),
    [
        ({"type": "desire", "roles": [{"key": "a"}, {"key": "b"}]}, DESIRE)
        for DESIRE in (
            {"roles": {"a": "yes", "b": ""}, "limits": ["b"], "fantasy": True, "note": "n"},
            {"roles": {}, "hard_limit": True, "experience": "liked"},
            {"roles": {"a": "no"}, "limits": [], "fantasy": False, "experience": "", "note": ""},
        )
    ]
    + [
        ({"type": "choice", "multiple": True, "options": [{"value": "x"}, {"value": "y"}]}, ["y"]),
        ({"type": "choice", "options": [{"value": "x"}]}, "x"),
        ({"type": "boolean"}, True),
        ({"type": "integer"}, 3),
        ({"type": "decimal"}, 2.5),
        ({"type": "scale", "min": 0, "max": 10}, 7),
        ({"type": "date"}, "2026-01-02"),
        ({"type": "text"}, "words"),
        ({"type": "open-choice", "options": []}, "other"),
    ],
)
def test_stored_answers_hold_numbers_only_where_a_save_compares_their_type(item, raw):
    """``portal.services._sent_changes`` compares the type of the answer itself and of a
    desire answer's ``fantasy``: no stored answer holds a boolean or a number elsewhere."""
    from counselor.questionnaires.validation import normalise

    stored = normalise({"link_id": "q", **item}, raw)
    assert _numbers_inside(stored) <= ({("fantasy",)} if item["type"] == "desire" else set())
