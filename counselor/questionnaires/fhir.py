"""HL7 FHIR R4 ``Questionnaire`` ⇄ definition, on plain data (no Flask, no database).

``to_fhir`` writes any definition as a Questionnaire resource, and ``from_fhir`` reads it back
to the identical definition. What FHIR has no element for travels in extensions whose URLs
start with ``urn:counselor:extension:`` (README, "FHIR Questionnaire"):

- ``kind``, ``estimated-minutes``, ``source`` (citation, licence, use) and ``score`` (a
  scoring rule, each key a sub-extension) on the Questionnaire;
- ``item-type`` (``scale`` or ``desire``), ``share``, ``alert``, ``stop-if``, ``advisory``,
  ``role`` (key, label, counterpart), ``min-label``/``max-label`` and ``help`` on items.

A ``scale`` item is an ``integer`` item with the standard ``minValue``/``maxValue``
extensions and a ``slider`` item control, so any FHIR form tool can still ask it. A
``desire`` item is a ``group`` whose children (a choice per role, a hard limit per role,
"fantasy only", experience and a note) have the linkIds the QuestionnaireResponse export
uses, so exported answers fit the exported questionnaire. Help text is a child ``display``
item with the ``help`` item control (FHIR SDC), as form builders write it.

``fhir_import.from_fhir`` reads a resource back to the identical definition, and reads
Questionnaires made elsewhere too.
"""

from __future__ import annotations

import re
from typing import Any

from counselor.questionnaires.parsing import Problems
from counselor.questionnaires.schema import (
    DESIRE_ANSWERS,
    DESIRE_LABELS,
    EXPERIENCE,
    EXPERIENCE_LABELS,
)

EXT = "urn:counselor:extension:"
#: the canonical URL of an exported questionnaire; the QuestionnaireResponse export names it
URL_PREFIX = "urn:counselor:questionnaire:"
SDC_MIN = "http://hl7.org/fhir/StructureDefinition/minValue"
SDC_MAX = "http://hl7.org/fhir/StructureDefinition/maxValue"
ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
#: the codings of desire answers and experience (the QuestionnaireResponse export uses them)
DESIRE_SYSTEM = "urn:counselor:desire-answer"
EXPERIENCE_SYSTEM = "urn:counselor:desire-experience"
#: a FHIR text is far more verbose than the definition it holds (the built-in inventory's
#: 62,653 characters export as 514,252, each desire item with its per-role children), so it
#: may be as long as a request may be (1 MB); the definition read from it is then held to
#: every limit of an imported definition, MAX_DEFINITION_CHARS included
MAX_FHIR_CHARS = 1_000_000


class FhirError(Problems):
    """A resource that cannot become a definition."""


# ---- definition → FHIR ---------------------------------------------------------------------


def _value_key(value: Any) -> str:
    if isinstance(value, bool):
        return "valueBoolean"
    if isinstance(value, int):
        return "valueInteger"
    if isinstance(value, float):
        return "valueDecimal"
    return "valueString"


def _complex(url: str, obj: dict) -> dict:
    """A dict as a complex extension: each key a sub-extension (lists repeat the key)."""
    subs = []
    for key, value in obj.items():
        for one in value if isinstance(value, list) else [value]:
            if isinstance(one, dict):
                subs.append(_complex(key, one))
            else:
                subs.append({"url": key, _value_key(one): one})
    return {"url": url, "extension": subs}


def _simple(name: str, value: Any) -> dict:
    return {"url": EXT + name, _value_key(value): value}


def _control(code: str) -> dict:
    return {
        "url": ITEM_CONTROL,
        "valueCodeableConcept": {"coding": [{"system": ITEM_CONTROL_SYSTEM, "code": code}]},
    }


def _fhir_answer(value: Any, question: dict | None, *, exists: bool = False) -> dict:
    """The answer[x] of an enableWhen, typed by the value and the question it reads."""
    if exists:
        return {"answerBoolean": bool(value)}
    kind = (question or {}).get("type")
    if isinstance(value, bool):
        return {"answerBoolean": value}
    if isinstance(value, int) and kind in ("integer", "scale"):
        return {"answerInteger": value}
    if isinstance(value, (int, float)):
        return {"answerDecimal": value}
    if kind in ("choice", "open-choice"):
        return {"answerCoding": {"code": value}}
    if kind == "date":
        return {"answerDate": value}
    return {"answerString": value}


def _desire_children(item: dict) -> list[dict]:
    lid = item["link_id"]
    answers = [
        {"valueCoding": {"system": DESIRE_SYSTEM, "code": a, "display": DESIRE_LABELS[a]}}
        for a in DESIRE_ANSWERS
    ]
    children = []
    for role in item["roles"]:
        children.append(
            {
                "linkId": f"{lid}.role.{role['key']}",
                "text": role["label"],
                "type": "choice",
                "answerOption": answers,
            }
        )
        children.append(
            {
                "linkId": f"{lid}.hard_limit.{role['key']}",
                "text": f"Hard limit: {role['label']}",
                "type": "boolean",
            }
        )
    experience = [
        {"valueCoding": {"system": EXPERIENCE_SYSTEM, "code": e, "display": EXPERIENCE_LABELS[e]}}
        for e in EXPERIENCE
    ]
    return children + [
        {"linkId": f"{lid}.fantasy", "text": "Fantasy only — not to act on", "type": "boolean"},
        {
            "linkId": f"{lid}.experience",
            "text": "Experience",
            "type": "choice",
            "answerOption": experience,
        },
        {"linkId": f"{lid}.note", "text": "Note", "type": "text"},
    ]


def _fhir_item(item: dict, by_id: dict[str, dict]) -> dict:
    kind = item["type"]
    out: dict[str, Any] = {"linkId": item["link_id"], "text": item["text"]}
    ext: list[dict] = []
    children: list[dict] = []
    if kind == "scale":
        out["type"] = "integer"
        ext += [
            _simple("item-type", "scale"),
            {"url": SDC_MIN, "valueInteger": item["min"]},
            {"url": SDC_MAX, "valueInteger": item["max"]},
            _simple("min-label", item["min_label"]),
            _simple("max-label", item["max_label"]),
            _control("slider"),
        ]
    elif kind == "desire":
        out["type"] = "group"
        ext.append(_simple("item-type", "desire"))
        ext += [_complex(EXT + "role", role) for role in item["roles"]]
        children = _desire_children(item)
    else:
        out["type"] = kind
        for bound, url in (("min", SDC_MIN), ("max", SDC_MAX)):
            if bound in item:
                ext.append({"url": url, _value_key(item[bound]): item[bound]})
    for key in ("min_label", "max_label"):
        if key in item and kind != "scale":
            ext.append(_simple(key.replace("_", "-"), item[key]))
    if "share" in item:
        ext.append({"url": EXT + "share", "valueCode": item["share"]})
    if "advisory" in item:
        ext.append(_simple("advisory", item["advisory"]))
    if "alert" in item:
        ext.append(_complex(EXT + "alert", item["alert"]))
    if "stop_if" in item:
        ext.append(_complex(EXT + "stop-if", item["stop_if"]))
    if "trend" in item:
        ext.append(_complex(EXT + "trend", item["trend"]))
    if "help" in item:
        if kind == "display":  # a display item has no children in FHIR (que-1)
            ext.append(_simple("help", item["help"]))
        else:
            children.insert(
                0,
                {
                    "linkId": f"{item['link_id']}-help",
                    "text": item["help"],
                    "type": "display",
                    "extension": [_control("help")],
                },
            )
    if ext:
        out["extension"] = ext
    if item.get("required") is not None:
        out["required"] = item["required"]
    if "multiple" in item:
        out["repeats"] = item["multiple"]
    if "max_length" in item:
        out["maxLength"] = item["max_length"]
    if "options" in item:
        out["answerOption"] = [
            {"valueCoding": {"code": o["value"], "display": o["label"]}} for o in item["options"]
        ]
    if item.get("enable_when"):
        out["enableWhen"] = [
            {
                "question": c["question"],
                "operator": c["operator"],
                **_fhir_answer(
                    c.get("answer", True),
                    by_id.get(c["question"]),
                    exists=c["operator"] == "exists",
                ),
            }
            for c in item["enable_when"]
        ]
        # FHIR asks for enableBehavior with two or more conditions; "all" is the default here
        if "enable_behavior" in item or len(item["enable_when"]) > 1:
            out["enableBehavior"] = item.get("enable_behavior", "all")
    children += [_fhir_item(child, by_id) for child in item.get("items", ())]
    if children:
        out["item"] = children
    return out


def _index(items: list[dict], into: dict[str, dict]) -> dict[str, dict]:
    stack = list(items)
    while stack:
        item = stack.pop()
        into[item["link_id"]] = item
        stack.extend(item.get("items", ()))
    return into


def pascal_name(slug: str) -> str:
    """A FHIR ``name`` (que-0: usable as an identifier) for a slug: ``intake`` → ``Intake``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]", slug)) or "Q"


def to_fhir(doc: dict, *, version: int | None = None, status: str = "active") -> dict:
    """A valid definition as an HL7 FHIR R4 Questionnaire resource (JSON-ready dict)."""
    by_id = _index(doc["items"], {})
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "url": URL_PREFIX + doc["slug"],
    }
    if version is not None:
        resource["version"] = str(version)
    resource.update(
        {
            "name": pascal_name(doc["slug"]),
            "title": doc["title"],
            "status": status,
            "purpose": doc["purpose"],
        }
    )
    if "intro" in doc:
        resource["description"] = doc["intro"]
    ext = [{"url": EXT + "kind", "valueCode": doc["kind"]}]
    if "estimated_minutes" in doc:
        ext.append(_simple("estimated-minutes", doc["estimated_minutes"]))
    ext += [_complex(EXT + "source", s) for s in doc.get("sources", ())]
    ext += [_complex(EXT + "score", s) for s in doc.get("scores", ())]
    resource["extension"] = ext
    resource["item"] = [_fhir_item(item, by_id) for item in doc["items"]]
    return resource
