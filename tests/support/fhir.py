"""FHIR R4 validation for the export tests, with the ``fhir.resources`` library.

``fhir.resources`` (pydantic models generated from the FHIR specification) checks each
resource's structure: element names, cardinality and datatypes (a date is a date, an integer a
32-bit integer, a Coding has only Coding's elements). Its ``R4B`` package is used: for
Questionnaire and QuestionnaireResponse, R4B changed nothing of R4's structure. It checks
neither required value sets nor invariants, so the few this project's exports must meet are
checked here by name: the status codes, the item types, que-1/qrs-1 (a group has items, a
display none, a response item has answers or items, not both), FHIR JSON's rule that no
value is null or empty, and that ``true`` is no integer (the library converts it to 1).
"""

from __future__ import annotations

import json

from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError

#: R4's required value sets, as far as the exports use them
QR_STATUSES = {"in-progress", "completed", "amended", "entered-in-error", "stopped"}
Q_STATUSES = {"draft", "active", "retired", "unknown"}
ITEM_TYPES = {
    "group",
    "display",
    "boolean",
    "decimal",
    "integer",
    "date",
    "dateTime",
    "time",
    "string",
    "text",
    "url",
    "choice",
    "open-choice",
    "attachment",
    "reference",
    "quantity",
}
OPERATORS = {"exists", "=", "!=", ">", "<", ">=", "<="}


def _library(model, resource) -> list[str]:
    try:
        # through JSON, as a file would be read: strict about types (True is no integer)
        model.model_validate_json(json.dumps(resource))
    except ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    return []


def _no_empty(node, path: str, errors: list[str]) -> None:
    """FHIR JSON has no null or empty value; and true is no integer (the library takes it)."""
    if node is None or node == "" or node == [] or node == {}:
        errors.append(f"{path}: empty values are not allowed in FHIR JSON")
    elif isinstance(node, dict):
        for k, v in node.items():
            if k.endswith("Integer") and isinstance(v, bool):
                errors.append(f"{path}.{k}: {v!r} is not an integer")
            _no_empty(v, f"{path}.{k}", errors)
    elif isinstance(node, list):
        for n, v in enumerate(node):
            _no_empty(v, f"{path}[{n}]", errors)


def _items(items, path: str, errors: list[str], check) -> None:
    for n, item in enumerate(items or ()):
        if isinstance(item, dict):
            check(item, f"{path}[{n}]", errors)
            _items(item.get("item"), f"{path}[{n}].item", errors, check)
            for m, answer in enumerate(item.get("answer") or ()):
                if isinstance(answer, dict):
                    _items(answer.get("item"), f"{path}[{n}].answer[{m}].item", errors, check)


def _response_item(item: dict, path: str, errors: list[str]) -> None:
    if ("answer" in item) == ("item" in item):
        errors.append(f"{path}: qrs-1, a response item has answers or items, not both")


def _question_item(item: dict, path: str, errors: list[str]) -> None:
    kind = item.get("type")
    if kind not in ITEM_TYPES:
        errors.append(f"{path}.type: {kind!r} is not an R4 item type")
    if kind == "group" and not item.get("item"):
        errors.append(f"{path}: que-1, a group has items")
    if kind == "display" and "item" in item:
        errors.append(f"{path}: que-1, a display item has no items")
    for m, cond in enumerate(item.get("enableWhen") or ()):
        if cond.get("operator") not in OPERATORS:
            errors.append(f"{path}.enableWhen[{m}].operator: not an R4 operator")
    if len(item.get("enableWhen") or ()) > 1 and "enableBehavior" not in item:
        errors.append(f"{path}: que-12, several conditions need enableBehavior")


def _validate(resource, model, statuses, status_kind: str, check_item) -> list[str]:
    """Every problem of an R4 resource of ``model``'s type, its items checked by
    ``check_item``; [] when it conforms."""
    if not isinstance(resource, dict):
        return ["$: not a JSON object"]
    name = model.__name__
    errors = _library(model, resource)
    if resource.get("resourceType") != name:
        errors.append(f"resourceType: must be {name}")
    if resource.get("status") not in statuses:
        errors.append(f"status: {resource.get('status')!r} is not an R4 {status_kind}")
    _items(resource.get("item"), "item", errors, check_item)
    _no_empty(resource, "$", errors)
    return errors


def validate_questionnaire_response(resource) -> list[str]:
    """Every problem of an R4 QuestionnaireResponse; [] when it conforms."""
    return _validate(
        resource, QuestionnaireResponse, QR_STATUSES, "response status", _response_item
    )


def validate_questionnaire(resource) -> list[str]:
    """Every problem of an R4 Questionnaire; [] when it conforms."""
    return _validate(resource, Questionnaire, Q_STATUSES, "publication status", _question_item)


def link_ids(items) -> list[str]:
    """Every linkId of a Questionnaire's or a QuestionnaireResponse's items, nested too."""
    out = []
    for item in items or ():
        out.append(item["linkId"])
        out += link_ids(item.get("item", []))
        for a in item.get("answer", []):
            out += link_ids(a.get("item", []))
    return out
