"""Scored outcome measures: the pure computation and the validator's checks on score rules."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

from counselor.questionnaires.engine import Definition
from counselor.questionnaires.schema import validate_definition
from counselor.questionnaires.scoring import score, scores

LIBRARY = Path(__file__).resolve().parents[2] / "counselor" / "questionnaires" / "library"


def _scale(lid: str) -> dict:
    return {
        "link_id": lid,
        "type": "scale",
        "text": lid,
        "min": 0,
        "max": 10,
        "min_label": "low",
        "max_label": "high",
    }


def _doc(**rule) -> dict:
    base = {
        "key": "total",
        "title": "Total",
        "method": "sum",
        "items": ["a", "b", "c"],
        "source": "Practice-defined; not validated.",
    }
    return {
        "slug": "scored",
        "title": "Scored",
        "purpose": "test",
        "kind": "check-in",
        "items": [
            _scale("a"),
            _scale("b"),
            _scale("c"),
            {"link_id": "note", "type": "text", "text": "Note"},
            {
                "link_id": "pick",
                "type": "choice",
                "text": "Pick",
                "options": [{"value": "0", "label": "zero"}, {"value": "x", "label": "other"}],
            },
        ],
        "scores": [{**base, **rule}],
    }


def _rule(**rule) -> dict:
    return _doc(**rule)["scores"][0]


def test_sum_adds_the_items():
    result = score(_rule(), {"a": 1, "b": 2, "c": 3})
    assert (result.value, result.shown, result.prorated) == (Decimal(6), "6", False)


def test_mean_averages_the_items():
    result = score(_rule(method="mean"), {"a": 1, "b": 2, "c": 4})
    assert result.shown == "2.33"


def test_reverse_coded_item_is_flipped_within_its_range():
    rule = _rule(reverse=[{"item": "a", "min": 0, "max": 10}])
    assert score(rule, {"a": 8, "b": 0, "c": 0}).value == 2


def test_missing_items_within_the_limit_are_prorated():
    result = score(_rule(max_missing=1), {"a": 2, "b": 4})
    assert (result.value, result.prorated, result.answered) == (Decimal(9), True, 2)
    assert score(_rule(method="mean", max_missing=1), {"a": 2, "b": 4}).value == 3


def test_too_many_missing_items_is_not_scored_with_the_reason():
    result = score(_rule(max_missing=1), {"a": 2})
    assert result.value is None and result.shown == "not scored"
    assert result.reason == "2 of 3 items unanswered; at most 1 may be missing"
    assert "every item is needed" in score(_rule(), {"a": 1, "b": 1}).reason


def test_a_non_numeric_answer_counts_as_missing():
    assert score(_rule(), {"a": 1, "b": "rather_talk", "c": 1}).value is None


def test_hidden_items_count_as_hidden_as_when_given():
    rule = _rule(hidden_as=0)
    assert score(rule, {"a": 3}, {"a": True, "b": False, "c": False}).value == 3
    assert score(_rule(), {"a": 3}, {"a": True, "b": False, "c": False}).value is None


def test_cutoffs_give_the_highest_reached_interpretation():
    rule = _rule(
        cutoffs=[{"at_least": 0, "text": "low"}, {"at_least": 10, "text": "high"}],
    )
    assert score(rule, {"a": 3, "b": 3, "c": 3}).interpretation == "low"
    assert score(rule, {"a": 3, "b": 3, "c": 4}).interpretation == "high"
    assert score(_rule(), {"a": 3, "b": 3, "c": 4}).interpretation == ""


def test_audit_c_in_the_intake_scores_never_drinking_as_zero():
    defn = Definition(json.loads((LIBRARY / "intake.json").read_text()))
    (audit,) = scores(defn, {"substances.audit_c1": "0"})
    assert audit.value == 0 and audit.share == "counselor_only"
    answers = {"substances.audit_c1": "2", "substances.audit_c2": "1", "substances.audit_c3": "1"}
    (audit,) = scores(defn, answers)
    assert audit.value == 4 and "4 or more" in audit.interpretation


def test_a_narrowed_definition_leaves_out_scores_of_unassigned_sections():
    defn = Definition(json.loads((LIBRARY / "intake.json").read_text()))
    assert scores(defn.only(["about"]), {}) == []


def test_shared_only_keeps_shared_rules():
    doc = _doc()
    doc["scores"].append({**doc["scores"][0], "key": "mine", "share": "shared"})
    keys = [s.key for s in scores(Definition(doc), {"a": 1, "b": 1, "c": 1}, shared_only=True)]
    assert keys == ["mine"]


def test_a_valid_score_rule_passes_the_validator():
    assert validate_definition(_doc(reverse=[{"item": "a", "min": 0, "max": 10}])) == []


def test_validator_names_the_path_of_each_score_mistake():
    doc = _doc(items=["a", "nope", "note", "a"], max_missing=4, method="median")
    doc["scores"][0]["reverse"] = [{"item": "c", "min": 5, "max": 5}]
    doc["scores"][0]["cutoffs"] = [{"at_least": 4, "text": "x"}, {"at_least": 2, "text": "y"}]
    doc["scores"].append(copy.deepcopy(doc["scores"][0]))
    errors = validate_definition(doc)
    for expected in (
        "$.scores[0].method: 'median' is not one of ['sum', 'mean']",
        "$.scores[0].items: an item is named twice",
        "$.scores[0].items[1]: 'nope' is not an item of this definition",
        "$.scores[0].items[2]: 'note' is a text item; scores add up scale, integer, decimal "
        "and choice answers",
        "$.scores[0].reverse[0].item: 'c' is not one of this score's items",
        "$.scores[0].reverse[0]: min must be below max",
        "$.scores[0].max_missing: 4 would allow a score with no item answered; at most 3",
        "$.scores[0].cutoffs: at_least values must rise from one cut-off to the next",
        "$.scores[1].key: 'total' is used twice; score keys must be unique",
    ):
        assert expected in errors, (expected, errors)


def test_validator_refuses_a_choice_without_numeric_values_and_a_missing_source():
    doc = _doc(items=["pick"])
    assert validate_definition(doc) == []
    doc["scores"][0]["items"] = ["a"]
    del doc["scores"][0]["source"]
    assert "$.scores[0]: 'source' is a required property" in validate_definition(doc)
    doc = _doc(items=["pick"])
    doc["items"][4]["options"][0]["value"] = "y"
    assert validate_definition(doc) == [
        "$.scores[0].items[0]: 'pick' has no option whose value is a number"
    ]


def test_stop_if_is_validated():
    doc = _doc()
    doc["items"][3]["stop_if"] = {"operator": "=", "answer": "x", "message": "Stop here."}
    assert validate_definition(doc) == [
        "$.items[3].stop_if: a stop works on boolean, choice, scale and number items"
    ]
    doc["items"][3].pop("stop_if")
    doc["items"][0]["stop_if"] = {"operator": "=", "answer": 1}
    assert validate_definition(doc) == ["$.items[0].stop_if: 'message' is a required property"]


def test_the_library_definitions_with_scores_are_valid():
    for name in ("intake.json", "consent-check-in.json", "relationship-check-in.json"):
        assert validate_definition(json.loads((LIBRARY / name).read_text())) == [], name


def test_stop_for_finds_the_first_met_stop_and_its_section():
    from counselor.questionnaires.engine import stop_for

    defn = Definition(json.loads((LIBRARY / "intake.json").read_text()))
    assert stop_for(defn, {"about.adult": True}) is None
    assert stop_for(defn, {}) is None
    stop = stop_for(defn, {"about.adult": False})
    assert (stop.link_id, stop.section) == ("about.adult", 1)
    assert "for adults" in stop.message


def test_relationship_check_in_scores_csi4_and_sexual_satisfaction():
    defn = Definition(json.loads((LIBRARY / "relationship-check-in.json").read_text()))
    csi = {f"relationship.csi_{n}": v for n, v in zip((1, 2, 3, 4), "3334", strict=True)}
    sexual = {"sexual.overall": 8, "sexual.fit": 6, "sexual.closeness": 9, "sexual.worry": 2}
    got = {s.key: s for s in scores(defn, {**csi, **sexual})}
    assert got["csi4"].value == 13 and got["csi4"].interpretation.startswith("Below 13.5")
    # talk is missing (one may be): the mean of 8, 6, 9 and 10 - 2
    assert got["sexual_satisfaction"].value == Decimal("7.75")
    assert (
        got["sexual_satisfaction"].prorated and "High" in got["sexual_satisfaction"].interpretation
    )
    del csi["relationship.csi_4"]
    assert scores(defn, csi)[0].reason == "1 of 4 items unanswered; every item is needed"
