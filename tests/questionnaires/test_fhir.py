"""HL7 FHIR R4 Questionnaire export and import (issue 15): every built-in round-trips to the
identical definition through a resource the fhir.resources library accepts; a Questionnaire
made elsewhere maps what it can and names everything else."""

from __future__ import annotations

import io
import json

import pytest

from counselor.questionnaires import fhir, fhir_import
from counselor.questionnaires.schema import validate_definition
from counselor.questionnaires.services import library_files
from tests.support import questionnaire, sync
from tests.support.fhir import link_ids, validate_questionnaire

BUILT_INS = library_files()


@pytest.mark.parametrize("name,doc", BUILT_INS, ids=[n for n, _ in BUILT_INS])
def test_every_built_in_round_trips_through_a_valid_fhir_questionnaire(name, doc):
    resource = fhir.to_fhir(doc, version=3)
    text = json.dumps(resource, ensure_ascii=False)
    assert validate_questionnaire(json.loads(text)) == []
    assert len(text) < fhir.MAX_FHIR_CHARS
    back, notes = fhir_import.from_fhir(json.loads(text))
    assert notes == []
    assert back == doc
    assert validate_definition(back) == []


def test_scale_and_desire_items_are_plain_fhir_with_documented_extensions():
    doc = dict(next(d for n, d in BUILT_INS if n == "desires-boundaries.json"))
    resource = fhir.to_fhir(doc)
    items = {i["linkId"]: i for i in _walk(resource["item"])}
    desire = next(i for i in items.values() if _ext(i, "item-type") == "desire")
    # a group whose children are the answers the QuestionnaireResponse export fills in
    assert desire["type"] == "group"
    role_items = [c for c in desire["item"] if ".role." in c["linkId"]]
    assert role_items and all(c["type"] == "choice" for c in role_items)
    assert {o["valueCoding"]["code"] for o in role_items[0]["answerOption"]} == {
        "yes",
        "want_to_try",
        "if_partner",
        "maybe",
        "no",
    }
    intake = next(d for n, d in BUILT_INS if n == "intake.json")
    scale = next(i for i in _walk(fhir.to_fhir(intake)["item"]) if _ext(i, "item-type") == "scale")
    assert scale["type"] == "integer"
    urls = {e["url"] for e in scale["extension"]}
    assert fhir.SDC_MIN in urls and fhir.SDC_MAX in urls
    for item in items.values():
        for ext in item.get("extension", ()):
            assert ext["url"].startswith((fhir.EXT, "http://hl7.org/fhir/StructureDefinition/"))


def _walk(items):
    for item in items:
        yield item
        yield from _walk(item.get("item", ()))


def _ext(item, name):
    for ext in item.get("extension", ()):
        if ext["url"] == fhir.EXT + name:
            return ext.get("valueString")
    return None


def upload(client, text: str, accept: bool = False, as_file: bool = True):
    data = {"accept": "y"} if accept else {}
    if as_file:
        data["file"] = (io.BytesIO(text.encode()), "questionnaire.json")
    else:
        data["text"] = text
    return client.post("/questionnaires/import-fhir", data=data, content_type="multipart/form-data")


def test_an_export_imports_to_an_identical_questionnaire(app, counselor_b, client_a, client_b):
    sync()
    intake = questionnaire("intake")
    r = client_a.get(f"/questionnaires/{intake.id}/fhir.json")
    assert r.status_code == 200 and r.mimetype == "application/fhir+json"
    assert "attachment" in r.headers["Content-Disposition"]
    text = r.get_data(as_text=True)
    imported = upload(client_b, text)
    assert imported.status_code == 302, imported.get_data(as_text=True)[:3000]
    mine = questionnaire("intake", counselor_b.id)
    assert mine.latest.definition.doc == intake.latest.definition.doc
    # importing the same file again changes nothing
    again = upload(client_b, text, as_file=False)
    assert again.status_code == 302
    page = client_b.get(again.location).get_data(as_text=True)
    assert "nothing new was saved" in page
    assert len(questionnaire("intake", counselor_b.id).versions) == 1


FOREIGN = {
    "resourceType": "Questionnaire",
    "id": "phq-like",
    "name": "WeeklyCheck",
    "title": "Weekly check",
    "status": "active",
    "publisher": "Some form builder",
    "item": [
        {
            "linkId": "Q1",
            "prefix": "1.",
            "text": "How was your week?",
            "type": "choice",
            "required": True,
            "answerOption": [
                {"valueCoding": {"system": "urn:x", "code": "good", "display": "Good"}},
                {"valueCoding": {"system": "urn:x", "code": "hard", "display": "Hard"}},
            ],
            "item": [
                {
                    "linkId": "Q1-help",
                    "text": "Think of the last seven days.",
                    "type": "display",
                    "extension": [
                        {
                            "url": "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl",
                            "valueCodeableConcept": {
                                "coding": [
                                    {
                                        "system": "http://hl7.org/fhir/questionnaire-item-control",
                                        "code": "flyover",
                                    }
                                ]
                            },
                        }
                    ],
                }
            ],
        },
        {
            "linkId": "Q2",
            "text": "What made it hard?",
            "type": "text",
            "enableWhen": [{"question": "Q1", "operator": "=", "answerCoding": {"code": "hard"}}],
        },
        {"linkId": "Q3", "text": "When did it start?", "type": "dateTime"},
        {
            "linkId": "Q4",
            "text": "Hours slept",
            "type": "integer",
            "initial": [{"valueInteger": 7}],
        },
    ],
}


def test_a_foreign_questionnaire_maps_and_names_what_it_cannot_keep(app, counselor_a, client_a):
    doc, notes = fhir_import.from_fhir(json.loads(json.dumps(FOREIGN)))
    assert doc["items"][0] == {
        "link_id": "q1",
        "type": "choice",
        "text": "How was your week?",
        "help": "Think of the last seven days.",
        "required": True,
        "options": [{"value": "good", "label": "Good"}, {"value": "hard", "label": "Hard"}],
    }
    assert doc["items"][1]["enable_when"] == [{"question": "q1", "operator": "=", "answer": "hard"}]
    assert doc["items"][2]["type"] == "string"
    assert validate_definition(doc) == []
    assert sorted(notes) == sorted(
        [
            "Questionnaire.publisher: not kept",
            "Questionnaire.purpose: missing; a purpose line was written for it",
            "Questionnaire.item[0].prefix: not kept",
            "Questionnaire.item[2].type: 'dateTime' is asked as free text (the answer is not "
            "checked to be a date and time)",
            "Questionnaire.item[3].initial: not kept",
        ]
    )
    # over HTTP: nothing is imported until the counselor accepts what is left out
    text = json.dumps(FOREIGN)
    first = upload(client_a, text)
    assert first.status_code == 400
    page = first.get_data(as_text=True)
    assert "Nothing was imported yet" in page and "Questionnaire.item[0].prefix: not kept" in page
    assert questionnaire("weeklycheck", counselor_a.id) is None
    accepted = upload(client_a, text, accept=True, as_file=False)
    assert accepted.status_code == 302
    assert questionnaire("weeklycheck", counselor_a.id).latest.definition.doc == doc


BAD = [
    ("[1, 2]", "$: a FHIR resource is a JSON object"),
    ('{"resourceType": "Patient"}', "resourceType: 'Patient'; a FHIR Questionnaire is needed"),
    ("{}", "resourceType: missing; a FHIR Questionnaire is needed"),
    ('{"resourceType": "Questionnaire"}', "Questionnaire.item: the questionnaire has no items"),
    (
        json.dumps(
            {
                "resourceType": "Questionnaire",
                "item": [{"linkId": "a", "text": "Photo", "type": "attachment"}],
            }
        ),
        "Questionnaire.item[0].type: 'attachment' cannot be asked here",
    ),
    (
        json.dumps(
            {
                "resourceType": "Questionnaire",
                "item": [
                    {"linkId": "a", "text": "Which?", "type": "choice", "answerValueSet": "x"}
                ],
            }
        ),
        "Questionnaire.item[0].answerValueSet: a value set cannot be looked up here",
    ),
    (
        json.dumps(
            {
                "resourceType": "Questionnaire",
                "modifierExtension": [{"url": "urn:x", "valueBoolean": True}],
                "item": [{"linkId": "a", "text": "A", "type": "string"}],
            }
        ),
        "Questionnaire.modifierExtension: a modifier extension changes what the questionnaire",
    ),
    (
        # a cycle: a shown after b, b after a
        json.dumps(
            {
                "resourceType": "Questionnaire",
                "title": "Cycle",
                "purpose": "p",
                "item": [
                    {
                        "linkId": "a",
                        "text": "A",
                        "type": "boolean",
                        "enableWhen": [
                            {"question": "b", "operator": "exists", "answerBoolean": True}
                        ],
                    },
                    {
                        "linkId": "b",
                        "text": "B",
                        "type": "boolean",
                        "enableWhen": [
                            {"question": "a", "operator": "exists", "answerBoolean": True}
                        ],
                    },
                ],
            }
        ),
        "$.items[0].enable_when: question 'b' must be an earlier item",
    ),
    (
        json.dumps(
            {
                "resourceType": "Questionnaire",
                "item": [{"linkId": "a", "text": "A", "type": "boolean"}]
                + [
                    {
                        "linkId": "b",
                        "text": "B",
                        "type": "string",
                        "enableWhen": [
                            {"question": "a", "operator": "=", "answerQuantity": {"value": 1}}
                        ],
                    }
                ],
            }
        ),
        "Questionnaire.item[1].enableWhen[0].answerQuantity: this kind of answer cannot be",
    ),
    ("[" * 5000, "$: nested too deeply"),
    ('{"resourceType": "Questionnaire", "x": NaN}', "$: NaN is not a number"),
    ("x" * (fhir.MAX_FHIR_CHARS + 1), "characters; at most 1,000,000"),
]


def _deep(levels: int) -> str:
    item = {"linkId": "leaf", "text": "Leaf", "type": "string"}
    for n in range(levels):
        item = {"linkId": f"g{n}", "text": f"Group {n}", "type": "group", "item": [item]}
    return json.dumps({"resourceType": "Questionnaire", "item": [item]})


BAD.append((_deep(40), "items are nested too deeply (at most 8 levels)"))


@pytest.mark.parametrize("text,message", BAD, ids=[m[:40] for _, m in BAD])
def test_hostile_or_malformed_fhir_is_refused_with_its_path(app, client_a, text, message):
    r = upload(client_a, text)
    assert r.status_code in (400, 413), r.status_code
    page = r.get_data(as_text=True)
    import html

    assert message in html.unescape(page), html.unescape(page)[:3000]


def test_the_exported_questionnaire_lists_every_response_link_id():
    """The QuestionnaireResponse export names desire answers role by role; the Questionnaire
    export has an item for each of those linkIds (checked against real exports in
    tests/reveal/test_exports.py)."""
    doc = next(d for n, d in BUILT_INS if n == "desires-boundaries.json")
    ids = set(link_ids(fhir.to_fhir(doc)["item"]))
    some = next(i for i in _walk_doc(doc["items"]) if i["type"] == "desire")
    role = some["roles"][0]["key"]
    for suffix in (f"role.{role}", f"hard_limit.{role}", "fantasy", "experience", "note"):
        assert f"{some['link_id']}.{suffix}" in ids


def _walk_doc(items):
    for item in items:
        yield item
        yield from _walk_doc(item.get("items", ()))
