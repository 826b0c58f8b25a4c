"""The counselor's exports of an assignment: CSV for spreadsheets, FHIR R4 for records systems.

Both are counselor only, audited here, and read answers through the same formatting as the
pages (`counselor.questionnaires.answers`).
"""

from __future__ import annotations

import csv
import io

from counselor.core import audit
from counselor.core.models import aware
from counselor.questionnaires import engine
from counselor.questionnaires.answers import answer_plain, option_labels
from counselor.questionnaires.models import Assignment, QuestionnaireVersion, Response
from counselor.questionnaires.schema import DESIRE_LABELS, EXPERIENCE_LABELS
from counselor.reveal.services import compare

FHIR_SYSTEM = "urn:counselor:desire-answer"
FHIR_EXPERIENCE_SYSTEM = "urn:counselor:desire-experience"


def _fhir_answers(item: dict, value) -> list[dict]:
    kind = item["type"]
    if kind == "boolean":
        return [{"valueBoolean": value}]
    if kind in ("integer", "scale"):
        # FHIR R4 integers are 32-bit; a larger whole number (the portal takes up to 10^12)
        # keeps its exact value as a decimal instead of making the resource invalid.
        if -(2**31) <= value < 2**31:
            return [{"valueInteger": value}]
        return [{"valueDecimal": value}]
    if kind == "decimal":
        return [{"valueDecimal": float(value)}]
    if kind == "date":
        return [{"valueDate": value}]
    if kind == "choice":
        labels = option_labels(item)
        values = value if isinstance(value, list) else [value]
        return [{"valueCoding": {"code": v, "display": labels.get(v, v)}} for v in values]
    if kind == "open-choice":
        labels = option_labels(item)
        if value in labels:
            return [{"valueCoding": {"code": value, "display": labels[value]}}]
        return [{"valueString": value}]
    return [{"valueString": str(value)}]


def _fhir_item(item: dict, answers: dict) -> dict | None:
    lid = item["link_id"]
    if item["type"] == "group":
        children = [c for c in (_fhir_item(i, answers) for i in item["items"]) if c]
        return {"linkId": lid, "text": item["text"], "item": children} if children else None
    if item["type"] == "display":
        return None
    value = answers.get(lid)
    if not engine.has_answer(value):
        return None
    if item["type"] == "desire":
        value = engine.desire_value(item, value)
        sub = []
        for role in item["roles"]:
            answer = value["roles"].get(role["key"])
            if answer:
                sub.append(
                    {
                        "linkId": f"{lid}.role.{role['key']}",
                        "text": role["label"],
                        "answer": [
                            {
                                "valueCoding": {
                                    "system": FHIR_SYSTEM,
                                    "code": answer,
                                    "display": DESIRE_LABELS[answer],
                                }
                            }
                        ],
                    }
                )
            sub.append(
                {
                    "linkId": f"{lid}.hard_limit.{role['key']}",
                    "text": f"Hard limit: {role['label']}",
                    "answer": [{"valueBoolean": role["key"] in value["limits"]}],
                }
            )
        sub.append(
            {
                "linkId": f"{lid}.fantasy",
                "text": "Fantasy only — not to act on",
                "answer": [{"valueBoolean": value["fantasy"]}],
            }
        )
        if value["experience"]:
            sub.append(
                {
                    "linkId": f"{lid}.experience",
                    "text": "Experience",
                    "answer": [
                        {
                            "valueCoding": {
                                "system": FHIR_EXPERIENCE_SYSTEM,
                                "code": value["experience"],
                                "display": EXPERIENCE_LABELS[value["experience"]],
                            }
                        }
                    ],
                }
            )
        if value["note"]:
            sub.append(
                {
                    "linkId": f"{lid}.note",
                    "text": "Note",
                    "answer": [{"valueString": value["note"]}],
                }
            )
        return {"linkId": lid, "text": item["text"], "item": sub}
    return {"linkId": lid, "text": item["text"], "answer": _fhir_answers(item, value)}


def fhir_response(assignment: Assignment, response: Response) -> dict:
    """A partner's answers as an HL7 FHIR R4 QuestionnaireResponse resource."""
    version: QuestionnaireVersion = assignment.version
    defn = assignment.definition
    answers = engine.visible_answers(defn, response.answers)
    items = [c for c in (_fhir_item(i, answers) for i in defn.doc["items"]) if c]
    resource = {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.id),
        "questionnaire": f"urn:counselor:questionnaire:{defn.doc['slug']}|{version.number}",
        "status": "completed" if response.status == "submitted" else "in-progress",
        "subject": {"display": response.partner.display_name},
    }
    if items:  # FHIR JSON allows no empty arrays: a response without answers has no item
        resource["item"] = items
    authored = response.submitted_at or response.saved_at
    if authored is not None:
        resource["authored"] = aware(authored).isoformat()
    audit.record("export.fhir", "response", response.id)
    return resource


def _csv_safe(text: str) -> str:
    # Spreadsheets run cells that start with these as formulas; a typed answer must stay text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_export(assignment: Assignment) -> str:
    """One row per item, one column per assigned partner."""
    cmp = compare(assignment)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["section", "link_id", "question", "type", "share"]
        + [_csv_safe(p.display_name) for p in cmp.partners]
    )
    for row in cmp.items:
        writer.writerow(
            [
                _csv_safe(row.section),
                row.item["link_id"],
                _csv_safe(row.item["text"]),
                row.item["type"],
                engine.share_of(row.item),
            ]
            + [_csv_safe(answer_plain(row.item, row.answers[p.id])) for p in cmp.partners]
        )
    audit.record("export.csv", "assignment", assignment.id)
    return out.getvalue()
